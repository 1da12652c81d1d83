#!/usr/bin/env bash
# Re-fetches the pinned GraphiQL and React builds that the server embeds (src/http/graphiql.rs)
# from the npm registry with `npm pack`, and copies them, with each package's licence, into this
# folder. Needs npm (and node, which npm brings); nothing else is downloaded.
#
# To upgrade, change a version below, run this, update README.md (versions and the sums this
# prints) and check the page in a browser offline. The page loads the UMD bundle
# `graphiql.min.js` with a plain <script> tag: 3.x and 4.x ship one, 5.x (ESM only) does not.
set -euo pipefail

GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

dest=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
for spec in "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION"; do
  name=${spec%@*}
  # npm pack checks the tarball against the registry's integrity hash.
  tarball=$(npm pack --silent "$spec" | tail -n 1)
  mkdir "$name"
  tar -xzf "$tarball" -C "$name"
  license=$(node -p "require('./$name/package/package.json').license")
  if [ "$license" != "MIT" ]; then
    echo "$spec: licence is '$license', not MIT; review before embedding it" >&2
    exit 1
  fi
  cp "$name/package/LICENSE" "$dest/LICENSE-$name"
done

cp graphiql/package/graphiql.min.js graphiql/package/graphiql.min.css "$dest/"
cp react/package/umd/react.production.min.js "$dest/"
cp react-dom/package/umd/react-dom.production.min.js "$dest/"
# The files are kept byte for byte as published, so the sums below can be checked against the
# tarballs. (graphiql.min.js ends with a source-map comment; only browser developer tools follow
# it, and the server answers 404.)

cd "$dest"
echo "graphiql $GRAPHIQL_VERSION, react $REACT_VERSION, react-dom $REACT_VERSION (all MIT):"
sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js
