// Error messages may carry a Hub's own words (X-Error-Message): only URLs the studio built become
// links; any other URL stays plain text.
import { describe, expect, it } from 'vitest';
import { StudioError } from '../../../src-shared/errors';
import { toModelError } from '../../stores/models';
import { linkify, verifiedText } from './format';

const PAGE = 'https://huggingface.co/acme/sd3';
const TOKENS = 'https://huggingface.co/settings/tokens';

describe('linkify', () => {
  it('links only the allowed, studio-built URLs', () => {
    const text = `Hugging Face answered HTTP 400; it said: "Your session expired: log in at https://evil.example/login." See ${PAGE}.`;
    const parts = linkify(text, [PAGE, TOKENS]);
    expect(parts.filter((p) => p.href).map((p) => p.href)).toEqual([PAGE]);
    expect(parts.map((p) => p.text).join('')).toBe(text);
    expect(parts.find((p) => p.text.includes('evil.example'))?.href).toBeUndefined();
  });

  it('links nothing without an allow-list, and never a look-alike of an allowed URL', () => {
    expect(linkify(`go to ${PAGE}`).some((p) => p.href)).toBe(false);
    expect(linkify(`go to ${PAGE}.evil.example/x`, [PAGE]).some((p) => p.href)).toBe(false);
  });

  it('takes the studio-built URLs from the error details', () => {
    const e = toModelError(new StudioError('network', 'x', { url: PAGE, tokensUrl: TOKENS }));
    expect(e).toMatchObject({ url: PAGE, tokensUrl: TOKENS });
  });
});

describe('verifiedText', () => {
  it('an imported folder was never downloaded: it does not say "not since download"', () => {
    expect(verifiedText({}, 'import')).toBe('not yet (Verify checks the folder is complete)');
    expect(verifiedText({}, 'catalog')).toBe('not since download');
    expect(verifiedText({}, 'hub')).toBe('not since download');
    expect(verifiedText({ verifiedAt: Date.UTC(2026, 0, 2, 3, 4) }, 'import')).not.toMatch(/not/);
  });
});
