// `sd35-studio info`: what `system.info` reports, plus the diagnostics text.
import type { Command } from '../command';

export const infoCommand: Command = {
  path: ['info'],
  usage: 'info',
  summary: 'Show version, execution providers, data and models folders, free disk',
  options: [],
  async run(ctx) {
    const core = await ctx.openCore();
    try {
      const info = await core.api['system.info']({});
      ctx.out.item(info, await core.diagnostics());
      return 0;
    } finally {
      core.close();
    }
  },
};
