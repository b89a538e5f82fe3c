// npm scripts must run on the project's Node 24 (installed from the `node` package), never the system's.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(
    `loadlm needs Node >= 24, but this script ran on ${process.version} (${process.execPath}). Run it through npm so node_modules/.bin/node is used.`,
  );
  process.exit(1);
}
console.log(`node ${process.version} (${process.execPath})`);
