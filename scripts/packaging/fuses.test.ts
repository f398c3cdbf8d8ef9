// The fuse configuration as data, and the afterPack step over a stand-in Electron binary (the fuse wire
// is a sentinel + version + length + one byte per fuse, which is all @electron/fuses reads and writes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as electronFuses from '@electron/fuses';
import { afterAll, describe, expect, it } from 'vitest';
import afterPack from './after-pack.mjs';
import { REQUIRED_FUSES, applyFuses, electronBinaryIn, fuseConfig, fuseMismatches } from './fuses.mjs';

const { FuseV1Options, FuseVersion } = electronFuses;
const SENTINEL = 'dL7pKGdnNz796PbbjQWNKmHXBZaB9tsX';
const dirs: string[] = [];

/** A file with Electron's default fuse wire (RunAsNode, NODE_OPTIONS, --inspect and file:// privileges on). */
function fakeElectron(dir: string, name: string): string {
  const defaults = [49, 48, 49, 49, 48, 48, 48, 49];
  const file = path.join(dir, name);
  fs.writeFileSync(file, Buffer.concat([Buffer.from('\x7fELF fake electron '), Buffer.from(SENTINEL), Buffer.from([1, defaults.length, ...defaults]), Buffer.from(' tail')]));
  return file;
}

function temp(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sd35-fuses-'));
  dirs.push(dir);
  return dir;
}

afterAll(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));

describe('the fuses of the packaged app', () => {
  it('has every required fuse with its value', () => {
    expect(REQUIRED_FUSES).toEqual({
      RunAsNode: false,
      EnableNodeOptionsEnvironmentVariable: false,
      EnableNodeCliInspectArguments: false,
      EnableCookieEncryption: true,
      EnableEmbeddedAsarIntegrityValidation: true,
      OnlyLoadAppFromAsar: true,
      GrantFileProtocolExtraPrivileges: false,
    });
    const config = fuseConfig(electronFuses, 'linux');
    expect(config).toMatchObject({
      version: FuseVersion.V1,
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableCookieEncryption]: true,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
      [FuseV1Options.GrantFileProtocolExtraPrivileges]: false,
    });
    // The V8 snapshot fuse is left as Electron ships it.
    expect(config[FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]).toBeUndefined();
    expect(fuseConfig(electronFuses, 'linux').resetAdHocDarwinSignature).toBe(false);
    expect(fuseConfig(electronFuses, 'darwin').resetAdHocDarwinSignature).toBe(true);
    expect(() => fuseConfig({ FuseVersion, FuseV1Options: {} }, 'linux')).toThrow(/does not know the RunAsNode fuse/);
  });

  it('flips a binary with Electron defaults and reads every fuse back as set', async () => {
    const dir = temp();
    const binary = fakeElectron(dir, 'sd35-studio');
    expect(fuseMismatches(electronFuses, (await electronFuses.getCurrentFuseWire(binary)) as never)).toHaveLength(7);
    await applyFuses(binary, 'linux');
    const wire = (await electronFuses.getCurrentFuseWire(binary)) as unknown as Record<number, number>;
    expect(fuseMismatches(electronFuses, wire)).toEqual([]);
    expect(wire[FuseV1Options.RunAsNode]).toBe(48);
    expect(wire[FuseV1Options.OnlyLoadAppFromAsar]).toBe(49);
    expect(wire[FuseV1Options.LoadBrowserProcessSpecificV8Snapshot]).toBe(48); // untouched
  });

  it('the afterPack hook finds the executable electron-builder made and hardens it', async () => {
    const linux = temp();
    const binary = fakeElectron(linux, 'sd35-studio');
    await afterPack({ appOutDir: linux, electronPlatformName: 'linux', packager: { appInfo: { productFilename: 'SD3.5 Studio' }, executableName: 'sd35-studio' } });
    expect(fuseMismatches(electronFuses, (await electronFuses.getCurrentFuseWire(binary)) as never)).toEqual([]);
    const win = temp();
    fakeElectron(win, 'SD3.5 Studio.exe');
    expect(electronBinaryIn(win, 'win32', { productFilename: 'SD3.5 Studio', executableName: 'sd35-studio' })).toBe(path.join(win, 'SD3.5 Studio.exe'));
    const mac = temp();
    fs.mkdirSync(path.join(mac, 'SD3.5 Studio.app'));
    expect(electronBinaryIn(mac, 'darwin', { productFilename: 'SD3.5 Studio' })).toBe(path.join(mac, 'SD3.5 Studio.app'));
    expect(() => electronBinaryIn(temp(), 'linux', { productFilename: 'SD3.5 Studio', executableName: 'sd35-studio' })).toThrow(/No Electron executable/);
    // A binary whose fuses do not read back fails the build.
    const broken = path.join(temp(), 'sd35-studio');
    fs.writeFileSync(broken, Buffer.concat([Buffer.from(SENTINEL), Buffer.from([1, 2, 49, 49])]));
    await expect(applyFuses(broken, 'linux')).rejects.toThrow(/not long enough|did not read back/);
  });
});
