import { exit, type Command } from '../command.js';
import { countProblems, fileOption, withFolderArgument, hasErrors, loadForCommand, outputFormat, outputOption } from '../shared.js';

export const validateCommand: Command = {
  name: 'validate',
  usage: 'validate -f DIR | DIR [-o json]',
  options: { filename: fileOption, output: outputOption },
  async run(values, positionals, io) {
    values = withFolderArgument(values, positionals);
    const json = outputFormat(values) === 'json';
    const set = await loadForCommand(values, io, json);
    const failed = hasErrors(set.problems);
    if (json) {
      io.out(JSON.stringify({ valid: !failed, objects: set.manifests.length, problems: set.problems }, null, 2));
    } else {
      io.out(failed ? `invalid: ${countProblems(set)}; nothing would be applied` : `valid: ${set.manifests.length} objects, ${countProblems(set)}`);
    }
    return failed ? exit.invalid : exit.ok;
  },
};
