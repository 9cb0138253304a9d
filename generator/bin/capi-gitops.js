#!/usr/bin/env node
import "tsx"; const { run, processIo } = await import("../src/cli.js"); process.exitCode = await run(process.argv.slice(2), processIo());
