import path from 'node:path';
import { defaultDataDir } from '../../server/data-dir.js';
import { restoreSnapshot, snapshotDataDir } from '../../store/backup.js';
import { exit, usageError, type Command } from '../command.js';

export const backupCommand: Command = {
  name: 'backup',
  usage: 'backup FILE [--data-dir DIR]',
  options: { 'data-dir': { type: 'string', description: `serve's data folder (default ${defaultDataDir()})` } },
  async run(values, positionals, io) {
    const file = positionals[0];
    if (!file) usageError('backup FILE [--data-dir DIR]: name the file to write');
    const dataDir = (values['data-dir'] as string | undefined) ?? defaultDataDir();
    io.err(`taking a snapshot of ${path.join(dataDir, 'state.db')} ...`);
    const info = await snapshotDataDir(dataDir, file);
    io.out(`snapshot ${info.file}: ${info.objects} objects up to resourceVersion ${info.resourceVersion}, ${info.bytes} bytes`);
    io.err("it holds the data folder's keys (Secrets, tokens, the CA): keep it as safe as the data folder; bring it back with gouvernail restore FILE --data-dir DIR");
    return exit.ok;
  },
};

export const restoreCommand: Command = {
  name: 'restore',
  usage: 'restore FILE --data-dir DIR',
  options: { 'data-dir': { type: 'string', description: 'the new data folder (must hold no store yet)' } },
  async run(values, positionals, io) {
    const file = positionals[0];
    if (!file) usageError('restore FILE --data-dir DIR: name the snapshot to restore');
    const dataDir = values['data-dir'] as string | undefined;
    if (!dataDir) usageError('restore FILE --data-dir DIR: name the data folder to restore into (a new one; an existing store is never overwritten)');
    const info = restoreSnapshot(file, dataDir);
    io.out(`restored ${info.objects} objects and ${info.files.length} key files into ${dataDir}`);
    io.err(`next: gouvernail serve --data-dir ${dataDir} (stop any other serve of the same installation first); it adopts the containers that run`);
    return exit.ok;
  },
};
