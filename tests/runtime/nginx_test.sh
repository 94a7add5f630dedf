# nginx (Debian's, master and two workers) serves a site whose pages and configuration live in
# an encrypted region: pages read whole, a 1 MiB file sent with sendfile, sizes from stat. Its
# access log goes into the region too, and a worker that dropped to another user, and so can no
# longer commit, is named in a log line when it changes user. Clients use a unix socket, so no
# TCP port is needed.
source "$(dirname "$0")/runtime_test_lib.sh" "$@"

for tool in nginx curl; do
  command -v "$tool" >/dev/null || { echo "$tool not installed (apt-get install nginx curl)" >&2; exit 1; }
done
APP=$WORK/app
SOCKET=$WORK/nginx.sock
mkdir -p "$WORK/run"
chmod 755 "$WORK"  # workers that run as nobody must reach the site and the socket
head -c $((1024 * 1024)) /dev/urandom >"$WORK/big.bin"
BIG_SHA=$(sha256sum <"$WORK/big.bin")
SERVER_PID=
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -rf "$WORK"' EXIT

# new_app USER_LINE ACCESS_LOG: the site and its configuration in plaintext, then encrypted in
# a new volume (make_volume) whose only region is the app's directory.
new_app() {
  rm -rf "$APP" "$WORK/fspf" "$WORK"/fspf.*
  mkdir -p "$APP/site" "$APP/conf"
  echo "NGINXSECRET page" >"$APP/site/index.html"
  cp "$WORK/big.bin" "$APP/site/big.bin"
  cat >"$APP/conf/nginx.conf" <<EOF
daemon off;
$1
worker_processes 2;
pid $WORK/run/nginx.pid;
error_log $WORK/run/error.log info;
events { worker_connections 64; }
http {
  access_log $2;
  sendfile on;
  client_body_temp_path $WORK/run/body;
  proxy_temp_path $WORK/run/proxy;
  fastcgi_temp_path $WORK/run/fastcgi;
  uwsgi_temp_path $WORK/run/uwsgi;
  scgi_temp_path $WORK/run/scgi;
  server { listen unix:$SOCKET; root $APP/site; }
}
EOF
  make_volume "$APP" encrypted
}

# start_nginx LOG: nginx under cove run, in the background, until it answers.
start_nginx() {
  rm -f "$SOCKET"
  crun nginx -c "$APP/conf/nginx.conf" >"$1" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    curl -sf --unix-socket "$SOCKET" -o /dev/null http://cove/ && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  return 1
}

# stop_nginx: a graceful stop (SIGQUIT), then the exit status of cove run.
stop_nginx() {
  kill -QUIT "$(cat "$WORK/run/nginx.pid")" 2>/dev/null || true
  local rc=0
  wait "$SERVER_PID" || rc=$?
  return $rc
}

get() { curl -sf --unix-socket "$SOCKET" "$@"; }

# 1. As in production: the workers run as nobody when nginx starts as root; the log is outside.
if [ "$(id -u)" = 0 ]; then
  new_app "user nobody nogroup;" "$WORK/run/access.log"
else
  new_app "" "$WORK/run/access.log"
fi
contains_bytes "$APP/conf/nginx.conf" "worker_processes" && fail "nginx.conf is plaintext on disk"
contains_bytes "$APP/site/index.html" NGINXSECRET && fail "index.html is plaintext on disk"
out=$(crun nginx -t -c "$APP/conf/nginx.conf" 2>&1) || true
grep -q "syntax is ok" <<<"$out" && pass "nginx -t reads the encrypted configuration" ||
  fail "nginx -t: $out"
if start_nginx "$WORK/out1"; then
  pass "nginx starts under cove run (master and two workers)"
  [ "$(get http://cove/index.html)" = "NGINXSECRET page" ] && pass "a page is served in plaintext" ||
    fail "index.html: $(get http://cove/index.html)"
  [ "$(get http://cove/big.bin | sha256sum)" = "$BIG_SHA" ] &&
    pass "1 MiB sent by sendfile arrives byte for byte" || fail "big.bin differs"
  length=$(get -I http://cove/big.bin | tr -d '\r' | sed -n 's/^Content-Length: //Ip')
  [ "$length" = 1048576 ] && pass "Content-Length is the plaintext size" ||
    fail "Content-Length $length"
  code=$(curl -s --unix-socket "$SOCKET" -o /dev/null -w '%{http_code}' http://cove/missing)
  [ "$code" = 404 ] || fail "a missing page: HTTP $code"
  stop_nginx && pass "graceful stop: cove run exits 0" || fail "exit status: $(cat "$WORK/out1")"
  grep -q "cove\[" "$WORK/out1" "$WORK/run/error.log" &&
    fail "runtime errors: $(grep -h "cove\[" "$WORK/out1" "$WORK/run/error.log")"
else
  fail "nginx did not start: $(cat "$WORK/out1" "$WORK/run/error.log" 2>/dev/null)"
fi

# 2. The access log inside the region, written by workers that can commit (same user).
if [ "$(id -u)" = 0 ]; then
  new_app "user root;" "$APP/site/access.log"
else
  new_app "" "$APP/site/access.log"
fi
if start_nginx "$WORK/out2"; then
  for _ in 1 2 3; do get http://cove/big.bin >/dev/null; done
  stop_nginx && pass "access log in the region: cove run exits 0" || fail "exit: $(cat "$WORK/out2")"
  [ "$(plain_cat "$APP/site/access.log" | grep -c "GET /big.bin")" = 3 ] &&
    pass "the workers' access log lines are committed" ||
    fail "access.log: $(plain_cat "$APP/site/access.log" 2>&1)"
  contains_bytes "$APP/site/access.log" "GET /" && fail "access.log is plaintext on disk"
else
  fail "nginx did not start with its log in the region: $(cat "$WORK/out2")"
fi

# 3. Workers that drop to nobody cannot write the fspf's directory: said when they change user.
if [ "$(id -u)" = 0 ]; then
  new_app "user nobody nogroup;" "$APP/site/access.log"
  if start_nginx "$WORK/out3"; then
    get http://cove/ >/dev/null
    stop_nginx || true
    # nginx sends its workers' stderr to its error log.
    grep -q "setuid: user 65534 cannot write the fspf's directory ($WORK: " \
      "$WORK/out3" "$WORK/run/error.log" &&
      pass "a worker that cannot commit after setuid is named in a log line" ||
      fail "no setuid warning: $(cat "$WORK/out3" "$WORK/run/error.log")"
  else
    fail "nginx (workers as nobody, log in the region): $(cat "$WORK/out3")"
  fi
fi
finish
