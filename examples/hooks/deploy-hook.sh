#!/bin/sh
# deploy-hook.sh: tell a Rewind server that a deploy happened, from a CI
# pipeline or a deploy script. It runs `rewind deploy notify` when `rewind`
# is installed, and otherwise POSTs the same JSON with curl.
#
# Environment (set by your pipeline):
#   REWIND_SERVER        base URL of the Rewind server, e.g. https://rewind.example  (required)
#   REWIND_TOKEN         an API token with the responder role                         (required)
#                        make one with: rewind token create --name ci-deploys --role responder
#   REWIND_SERVICE       the service deployed, e.g. planner                           (required)
#   REWIND_VERSION       the version deployed: a tag, a release, an image digest      (required)
#   REWIND_ENVIRONMENT   where: production (default), staging, a fleet name
#   REWIND_COMMIT        the source commit [default: GITHUB_SHA, CI_COMMIT_SHA or GIT_COMMIT]
#   REWIND_ACTOR         who deployed [default: GITHUB_ACTOR, GITLAB_USER_LOGIN or BUILD_USER;
#                        else the server records the token's name]
#   REWIND_AT            when, RFC 3339 (2026-05-13T14:30:00Z) [default: now]
#   REWIND_BIN           the rewind binary [default: rewind on PATH]; set to "curl" to force curl
#   REWIND_HOOK_SOFT_FAIL=1   report a failure but exit 0, so a Rewind outage never fails a deploy
#
# Example (GitHub Actions step):
#   - run: sh examples/hooks/deploy-hook.sh
#     env:
#       REWIND_SERVER: https://rewind.example
#       REWIND_TOKEN: ${{ secrets.REWIND_TOKEN }}
#       REWIND_SERVICE: planner
#       REWIND_VERSION: ${{ github.ref_name }}
#
# Exit codes: 0 recorded (or soft failure), 1 refused or unreachable, 2 missing settings.

set -u

fail() {
    echo "deploy-hook: $1" >&2
    if [ "${REWIND_HOOK_SOFT_FAIL:-0}" = "1" ]; then
        echo "deploy-hook: REWIND_HOOK_SOFT_FAIL=1, so this does not fail the pipeline" >&2
        exit 0
    fi
    exit "${2:-1}"
}

for name in REWIND_SERVER REWIND_TOKEN REWIND_SERVICE REWIND_VERSION; do
    eval "value=\${$name:-}"
    [ -n "$value" ] || fail "$name is not set (see the top of this script for every setting)" 2
done

commit="${REWIND_COMMIT:-${GITHUB_SHA:-${CI_COMMIT_SHA:-${GIT_COMMIT:-}}}}"
actor="${REWIND_ACTOR:-${GITHUB_ACTOR:-${GITLAB_USER_LOGIN:-${BUILD_USER:-}}}}"
environment="${REWIND_ENVIRONMENT:-production}"
at="${REWIND_AT:-}"
bin="${REWIND_BIN:-rewind}"

if [ "$bin" != "curl" ] && command -v "$bin" >/dev/null 2>&1; then
    # The token goes through the environment, never the command line.
    set -- deploy notify --server "$REWIND_SERVER" --service "$REWIND_SERVICE" \
        --version "$REWIND_VERSION" --environment "$environment"
    [ -n "$commit" ] && set -- "$@" --commit "$commit"
    [ -n "$actor" ] && set -- "$@" --actor "$actor"
    [ -n "$at" ] && set -- "$@" --at "$at"
    REWIND_TOKEN="$REWIND_TOKEN" "$bin" "$@" || fail "rewind deploy notify failed (its message is above)"
    exit 0
fi

command -v curl >/dev/null 2>&1 || fail "neither rewind nor curl is installed" 2

# A JSON string: backslashes and quotes escaped (control characters are refused by the server).
json() {
    printf '"%s"' "$(printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g')"
}

body="{\"service\":$(json "$REWIND_SERVICE"),\"version\":$(json "$REWIND_VERSION"),\"environment\":$(json "$environment")"
[ -n "$commit" ] && body="$body,\"commit\":$(json "$commit")"
[ -n "$actor" ] && body="$body,\"actor\":$(json "$actor")"
[ -n "$at" ] && body="$body,\"at\":$(json "$at")"
body="$body}"

answer=$(mktemp) || fail "cannot make a temporary file"
trap 'rm -f "$answer"' EXIT
# The header comes from stdin (-H @-), so the token is not on curl's command line.
status=$(printf 'Authorization: Bearer %s\n' "$REWIND_TOKEN" | curl -sS -o "$answer" -w '%{http_code}' \
    --connect-timeout 10 --max-time 30 \
    -H @- -H 'Content-Type: application/json' \
    --data "$body" "${REWIND_SERVER%/}/api/v1/deploys") || fail "cannot reach $REWIND_SERVER"

case "$status" in
    2??)
        echo "deploy-hook: recorded: $(cat "$answer")"
        ;;
    401 | 403)
        fail "the server refused the token (HTTP $status): $(cat "$answer")
deploy-hook: hint: use a responder token: rewind token create --name ci-deploys --role responder"
        ;;
    *)
        fail "the server refused the deploy (HTTP $status): $(cat "$answer")"
        ;;
esac
