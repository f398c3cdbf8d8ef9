// `sd35-studio serve [--port P]`: browser mode on 127.0.0.1 with a per-launch token.
import os from 'node:os';
import path from 'node:path';
import { StudioError } from '../../../src-shared/errors';
import { intOption } from '../args';
import { defineCommand, type Command } from '../command';
import { listenRememberingPort } from '../serve-port';
import { createDispatcher } from '../../transport/dispatch';
import { startHttpTransport } from '../../transport/http';

export const serveCommand: Command = defineCommand({
  path: ['serve'],
  usage: 'serve [--port P]',
  summary: 'Serve the studio to a browser on 127.0.0.1 (P = 0: the last port when free, else any free port)',
  options: [{ name: 'port', type: 'string', valueName: 'P', description: 'Port on 127.0.0.1 (0 = the last serve\'s port when free, else any free port; default 0)' }],
  async run(ctx) {
    const port = intOption(ctx.args, 'port', { min: 0, max: 65535 }) ?? 0;
    const core = await ctx.openCore('browser');
    if (!core.primary) {
      // A second serve would take jobs that only the holder runs, and never take over when it ends.
      const owner = core.lockOwner;
      throw new StudioError(
        'locked',
        `Another SD3.5 Studio process${owner ? ` (pid ${owner.pid}${owner.hostname !== os.hostname() ? ` on ${owner.hostname}` : ''})` : ''} already serves this data folder (${core.layout.root}) and runs its queue. Open that one, stop it first, or serve another folder with --data-dir.`,
        owner ? { pid: owner.pid } : undefined,
      );
    }
    const dispatch = createDispatcher(core.api, (m, err) => core.log.error(`${m} failed`, { error: String(err) }));
    const rendererDir = process.env.SD35_RENDERER_DIR ?? path.join(__dirname, '..', 'renderer');
    // Tests restart a server under the same token to prove an open tab reconnects on its own.
    const testToken = ctx.env.SD35_TEST_MODE === '1' ? ctx.env.SD35_TEST_TOKEN : undefined;
    const transport = await listenRememberingPort(core.layout.servePort, port, (p) =>
      startHttpTransport({
        dispatch,
        events: core.events,
        dataRoot: core.layout.root,
        rendererDir,
        media: core.media,
        downloads: core.downloads,
        port: p,
        ...(testToken ? { token: testToken } : {}),
        log: (m) => core.log.warn(m),
      }),
    );
    core.log.info('serving browser mode', { port: transport.port });
    if (ctx.out.json) ctx.out.item({ url: transport.url, port: transport.port });
    // This line is the contract with scripts and tests: printed in both modes.
    process.stdout.write(`SD3.5 Studio: ${transport.url}\n`);
    ctx.out.progress(`Data folder: ${core.layout.root}. Press Ctrl+C to stop.`);
    await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
    await transport.close();
    return 0;
  },
});
