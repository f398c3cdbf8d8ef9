// The one "Execution providers" line of the diagnostics (`sd35-studio info`, "Copy diagnostics"): what ONNX
// Runtime offers (system.info executionProviders) merged with what the provider check found (providers), so the
// two lists can never disagree on one screen, and a provider that failed says why.
import type { ProviderStatus, SystemInfo } from '../../src-shared/api';

type ExecutionProvider = SystemInfo['executionProviders'][number];

/**
 * ORT's first error line without its source location ("/onnxruntime_src/…/webgpu_context.cc:136 … was false. ")
 * — what is left is the reason a person can read ("Failed to get a WebGPU adapter: No supported adapters").
 */
export function readableProviderError(error: string): string {
  const located = /^\S+\.(?:cc|cpp|h|c):\d+\s.*?(?:was false\.|failed[.:])\s*(.+)$/.exec(error.trim());
  return (located?.[1] ?? error).trim();
}

function statusText(status: ProviderStatus): string {
  if (status.status === 'loaded') return 'works';
  if (status.status === 'not-installed') return status.missingLibrary ? `not installed: missing ${status.missingLibrary}` : 'not installed';
  const why = status.error ? readableProviderError(status.error) : '';
  return why ? `failed: ${why}` : 'failed (no reason given)';
}

function offeredText(ep: ExecutionProvider): string {
  if (ep.bundled) return 'offered, not checked';
  return ep.installed ? 'installed, not checked' : 'not installed';
}

/**
 * "Execution providers: cpu (works), cuda (not installed: missing libonnxruntime_providers_cuda.so), …" and, under
 * it, the next step for each provider that did not start. Offered providers first, in ORT's order; a checked one
 * that ORT no longer lists (WebGPU without an adapter) after them.
 */
export function providerLines(offered: readonly ExecutionProvider[], checked: readonly ProviderStatus[] | undefined): string[] {
  const byName = new Map((checked ?? []).map((s) => [s.name, s]));
  const names = [...new Set([...offered.map((e) => e.name), ...(checked ?? []).map((s) => s.name)])];
  if (!names.length) return ['Execution providers: none reported'];
  const parts = names.map((name) => {
    const s = byName.get(name);
    return `${name} (${s ? statusText(s) : offeredText(offered.find((e) => e.name === name)!)})`;
  });
  const steps = (checked ?? []).filter((s) => s.status !== 'loaded' && s.nextStep).map((s) => `  ${s.name}: ${s.nextStep}`);
  return [`Execution providers: ${parts.join(', ')}`, ...steps];
}
