# Shared helpers for the deploy scripts (sourced, not run).

# step N TOTAL "what": a progress line.
step() { printf '\n==> [%s/%s] %s\n' "$1" "$2" "$3"; }

# run CMD...: prints the command; runs it unless DRY_RUN=1.
run() {
  printf '+ %s\n' "$*"
  if [ "${DRY_RUN:-0}" != 1 ]; then "$@"; fi
}

die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# env_prefix ENV REGION: "<project>-<env>-<region>" from environments/<env>/<region>.json
env_prefix() {
  local file="$ROOT/environments/$1/$2.json"
  [ -f "$file" ] || die "no environment file $file"
  node -e 'const c=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); process.stdout.write(`${c.project_name}-${c.environment}-${c.region}`)' "$file"
}

# image_tag: the git commit, marked when the tree has uncommitted changes (tags are immutable).
image_tag() {
  if [ -n "${TAG:-}" ]; then printf '%s' "$TAG"; return; fi
  local sha
  sha=$(git -C "$ROOT" rev-parse --short=12 HEAD)
  if [ -n "$(git -C "$ROOT" status --porcelain)" ]; then sha="$sha-dirty-$(date +%s)"; fi
  printf '%s' "$sha"
}
