// A small getopt: long options (`--port 80`, `--port=80`), short ones (`-X POST`, `-XPOST`,
// `-ik`), `--` to end them. Written out rather than node:util's parseArgs because its messages
// differ between Node lines and run to several sentences; every mistake here is one line.
import { bare, quote, UsageError } from './errors.js';

/** One option a command takes. */
export interface OptionSpec {
  /** The long name, without dashes; also the key the value is found under. */
  name: string;
  /** A one-letter alias, without the dash. */
  short?: string;
  /** Takes a value (else it is a flag). */
  value?: boolean;
}

/** What a command line says: flags given, values in the order given, and positionals. */
export interface ParsedArgs {
  flags: Set<string>;
  values: Map<string, string[]>;
  positionals: string[];
}

/** Whether `argv` asks for help (before any `--`), which wins over every other mistake. */
export function wantsHelp(argv: readonly string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '-h' || arg === '--help') return true;
  }
  return false;
}

/** Parses `argv` for `command` against `specs`; throws `UsageError` naming the first mistake. */
export function parseArgs(
  argv: readonly string[],
  specs: readonly OptionSpec[],
  command: string,
): ParsedArgs {
  const parsed: ParsedArgs = { flags: new Set(), values: new Map(), positionals: [] };
  const see = `see h1kit ${command} --help`;
  const take = (spec: OptionSpec, value: string): void => {
    const list = parsed.values.get(spec.name);
    if (list) list.push(value);
    else parsed.values.set(spec.name, [value]);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      parsed.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq === -1 ? undefined : eq);
      const spec = specs.find((s) => s.name === name);
      if (!spec) throw new UsageError(`unknown option --${bare(name)} for ${command} (${see})`);
      if (!spec.value) {
        if (eq !== -1) throw new UsageError(`option --${bare(name)} takes no value`);
        parsed.flags.add(spec.name);
        continue;
      }
      if (eq !== -1) take(spec, arg.slice(eq + 1));
      else if (i + 1 < argv.length) take(spec, argv[++i]!);
      else throw new UsageError(`option --${bare(name)} needs a value`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // A cluster of flags (-ik), the last letter of which may take a value (-iXPOST, -X POST).
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = specs.find((s) => s.short === letter);
        if (!spec) throw new UsageError(`unknown option -${bare(letter)} for ${command} (${see})`);
        if (!spec.value) {
          parsed.flags.add(spec.name);
          continue;
        }
        if (j + 1 < arg.length) take(spec, arg.slice(j + 1));
        else if (i + 1 < argv.length) take(spec, argv[++i]!);
        else throw new UsageError(`option -${letter} (--${spec.name}) needs a value`);
        break;
      }
      continue;
    }
    parsed.positionals.push(arg);
  }
  return parsed;
}

/** The last value given for `name` (a later option overrides an earlier one, as in curl). */
export function lastValue(parsed: ParsedArgs, name: string): string | undefined {
  const list = parsed.values.get(name);
  return list?.[list.length - 1];
}

/** Every value given for `name`, in order. */
export function allValues(parsed: ParsedArgs, name: string): string[] {
  return parsed.values.get(name) ?? [];
}

/** A TCP port: decimal digits, 0 to 65535 (0 picks a free one). */
export function portOf(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`bad port ${quote(text)}: give a number from 0 to 65535`);
  }
  return Number(text);
}

/** Refuses positionals a command does not take. */
export function noPositionals(parsed: ParsedArgs, command: string): void {
  if (parsed.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument ${quote(parsed.positionals[0]!)} for ${command} (see h1kit ${command} --help)`,
    );
  }
}
