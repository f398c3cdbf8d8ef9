// THE progress bar, rendered (server-side, no DOM): the ARIA value, its text, the fill, indeterminate.
import { describe, expect, it } from 'vitest';
import { createSSRApp, h } from 'vue';
import { renderToString } from 'vue/server-renderer';
import { progress } from '../../src-shared/progress';
import ProgressBar from './ProgressBar.vue';
import { barState } from './progress-bar';

type Props = InstanceType<typeof ProgressBar>['$props'];

async function render(props: Props): Promise<string> {
  return renderToString(createSSRApp({ render: () => h(ProgressBar, props) }));
}

function attr(html: string, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(html)?.[1];
}

describe('ProgressBar', () => {
  it('renders value of max as a progressbar from 0 to 100 with its name and text', async () => {
    const html = await render({ label: 'Download progress', value: 1_500_000, max: 4_000_000, valueText: '1.5 MB of 4 MB' });
    expect(attr(html, 'role')).toBe('progressbar');
    expect(attr(html, 'aria-label')).toBe('Download progress');
    expect(attr(html, 'aria-valuemin')).toBe('0');
    expect(attr(html, 'aria-valuemax')).toBe('100');
    expect(attr(html, 'aria-valuenow')).toBe('37');
    expect(attr(html, 'aria-valuetext')).toBe('1.5 MB of 4 MB');
    expect(html).toContain('transform:scaleX(0.375)');
    expect(html).not.toContain('indeterminate');
  });

  it('takes THE progress shape', async () => {
    const html = await render({ label: 'Job progress', progress: progress('generate', { status: 'running', done: 3, total: 12 }) });
    expect(attr(html, 'aria-valuenow')).toBe('25');
    expect(html).toContain('scaleX(0.25)');
    const done = await render({ label: 'x', progress: progress('verify', { status: 'done', done: 0, total: 0 }) });
    expect(attr(done, 'aria-valuenow')).toBe('100');
  });

  it('is indeterminate while nothing is known: no aria-valuenow, a busy bar', async () => {
    for (const props of <Props[]>[{ label: 'Verification progress' }, { label: 'v', value: null }, { label: 'v', value: 3, max: 0 }, { label: 'v', progress: progress('download', { status: 'running', done: 0, total: 0 }) }]) {
      const html = await render(props);
      expect(attr(html, 'role')).toBe('progressbar');
      expect(attr(html, 'aria-valuenow'), JSON.stringify(props)).toBeUndefined();
      expect(attr(html, 'aria-busy')).toBe('true');
      expect(html).toContain('indeterminate');
    }
  });

  it('never says 100 before the end, and stays inside 0–100', () => {
    expect(barState(999, 1000)).toEqual({ percent: 99, fraction: 0.999 });
    expect(barState(1, 24).percent).toBe(4);
    expect(barState(12, 10)).toEqual({ percent: 100, fraction: 1 });
    expect(barState(-1, 10)).toEqual({ percent: 0, fraction: 0 });
    expect(barState(Number.NaN, 10).percent).toBeUndefined();
  });
});
