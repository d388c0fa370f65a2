// SPDX-License-Identifier: MIT
// Runs s3rver's own command line with one fix to its signature check, so
// that the integration suite keeps signature checks on for every request.
//
// s3rver 3.7.1 builds the V2 CanonicalizedResource of a path-style bucket
// request ("GET /bucket/?prefix=...") as "/bucket", dropping the trailing
// slash of the path that was sent; AWS signs the path as sent ("/bucket/"),
// and so does libs3. Without this fix every bucket listing made by libs3
// fails with SignatureDoesNotMatch. Object requests are not affected.
'use strict';

const fs = require('fs');
const Module = require('module');
const path = require('path');

const authPath = require.resolve('s3rver/lib/middleware/authentication.js');
const source = fs.readFileSync(authPath, 'utf8');
const anchor =
  "      if (ctx.params.key) {\n" +
  "        canonicalizedResource += '/' + ctx.params.key;\n" +
  "      }\n";
if (!source.includes(anchor)) {
  console.error('s3rver_launch.js: the s3rver version changed; ' +
                'review the signature fix in ' + authPath);
  process.exit(2);
}
const fixed = source.replace(anchor, anchor +
  "      else if (ctx.path.endsWith('/')) {\n" +
  "        canonicalizedResource += '/';\n" +
  "      }\n");

const mod = new Module(authPath, module);
mod.filename = authPath;
mod.paths = Module._nodeModulePaths(path.dirname(authPath));
mod._compile(fixed, authPath);
mod.loaded = true;
require.cache[authPath] = mod;

require('s3rver/bin/s3rver.js');
