// `sd35-studio info`: what `system.info` reports, plus the diagnostics text.
import { defineCommand, type Command } from '../command';

export const infoCommand: Command = defineCommand({
  path: ['info'],
  usage: 'info',
  summary: 'Show version, execution providers, data and models folders, free disk',
  options: [],
  async run(ctx) {
    const core = await ctx.openCore();
    const info = await core.api['system.info']({});
    ctx.out.item(info, await core.diagnostics());
    return 0;
  },
});
