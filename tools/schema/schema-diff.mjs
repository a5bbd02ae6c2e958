// Compare the committed schema with the latest released one and fail on breaking changes.
//
//   node schema-diff.mjs [--base FILE] [--schema FILE]
//
// Defaults: --schema ../../schema.graphql, --base = highest version in ../../schema/releases/.
// A removal counts as breaking unless the old release had already deprecated the field or
// enum value (the deprecation period); such removals are reported as dangerous and pass.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSchema } from 'graphql';
import { CriticalityLevel, diff, DiffRule } from '@graphql-inspector/core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

function option(name, fallback) {
  const at = process.argv.indexOf(name);
  return at >= 0 && process.argv[at + 1] ? resolve(process.argv[at + 1]) : fallback;
}

// v0.10.0 sorts after v0.9.0: compare the numeric parts, not the text.
function latestRelease(folder) {
  const versions = readdirSync(folder)
    .map((name) => /^v(\d+)\.(\d+)\.(\d+)\.graphql$/.exec(name))
    .filter(Boolean)
    .sort((a, b) => a[1] - b[1] || a[2] - b[2] || a[3] - b[3]);
  if (versions.length === 0) throw new Error(`no vX.Y.Z.graphql release schema in ${folder}`);
  return join(folder, versions[versions.length - 1][0]);
}

const current = option('--schema', join(root, 'schema.graphql'));
const base = option('--base', null) ?? latestRelease(join(root, 'schema', 'releases'));
const load = (file) => buildSchema(readFileSync(file, 'utf8'));

const changes = await diff(load(base), load(current), [
  DiffRule.suppressRemovalOfDeprecatedField,
  DiffRule.ignoreDescriptionChanges,
]);
const breaking = changes.filter((c) => c.criticality.level === CriticalityLevel.Breaking);
const label = {
  [CriticalityLevel.Breaking]: 'BREAKING ',
  [CriticalityLevel.Dangerous]: 'dangerous',
  [CriticalityLevel.NonBreaking]: 'safe     ',
};
console.log(`schema diff: ${base} -> ${current}: ${changes.length} change(s)`);
for (const change of changes) {
  console.log(`  ${label[change.criticality.level]}  ${change.message}`);
}
if (breaking.length > 0) {
  console.error(
    `schema diff: ${breaking.length} breaking change(s). Deprecate first ` +
      '(@deprecated(reason: ...)) and remove in a later release.',
  );
  process.exit(1);
}
console.log('schema diff: no breaking changes');
