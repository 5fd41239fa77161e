import path from 'node:path';
import { defaultDataDir } from '../../server/data-dir.js';
import { SecretBox } from '../../store/secret-box.js';
import { exit, usageError, type Command } from '../command.js';

export const encryptionCommand: Command = {
  name: 'encryption',
  usage: 'encryption rotate [--data-dir DIR]',
  options: { 'data-dir': { type: 'string', description: `serve's data folder (default ${defaultDataDir()})` } },
  async run(values, positionals, io) {
    if (positionals[0] !== 'rotate') usageError('encryption rotate [--data-dir DIR]');
    const file = path.join((values['data-dir'] as string | undefined) ?? defaultDataDir(), 'encryption-keys.json');
    const name = SecretBox.rotate(file);
    io.out(`new key ${name} is first in ${file}; restart gouvernail serve to re-seal every Secret with it (the older keys stay, so nothing sealed is lost)`);
    return exit.ok;
  },
};
