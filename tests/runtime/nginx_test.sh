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

# new_app USER_LINE ACCESS_LOG [LISTEN]: the site and its configuration in plaintext, then
# encrypted in a new volume (make_volume) whose only region is the app's directory. The server
# listens on the unix socket, and on LISTEN too if given. Log lines start with the worker's pid.
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
  log_format with_pid '\$pid "\$request" \$status';
  access_log $2 with_pid;
  sendfile on;
  client_body_temp_path $WORK/run/body;
  proxy_temp_path $WORK/run/proxy;
  fastcgi_temp_path $WORK/run/fastcgi;
  uwsgi_temp_path $WORK/run/uwsgi;
  scgi_temp_path $WORK/run/scgi;
  server { listen unix:$SOCKET; ${3:+listen $3;} root $APP/site; }
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

# 2. The access log inside the region, written by both workers (the same user as the master,
# so they can commit), one request at a time with commits in between: each worker's next line
# goes after the other's committed ones. A TCP listener with reuseport spreads the connections
# over the workers (the unix socket would wake the same one).
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
if [ "$(id -u)" = 0 ]; then
  new_app "user root;" "$APP/site/access.log" "127.0.0.1:$PORT reuseport"
else
  new_app "" "$APP/site/access.log" "127.0.0.1:$PORT reuseport"
fi
if start_nginx "$WORK/out2"; then
  for i in $(seq 1 24); do
    curl -sf -o /dev/null "http://127.0.0.1:$PORT/index.html?n=$i" || fail "request $i"
    sleep 0.3  # the workers' background commits (COVE_COMMIT_DELAY_MS, 200 ms) run
  done
  stop_nginx && pass "access log in the region: cove run exits 0" || fail "exit: $(cat "$WORK/out2")"
  log=$(plain_cat "$APP/site/access.log" 2>&1)
  [ "$(grep -o 'n=[0-9]*' <<<"$log" | sort -t= -k2 -n | tr '\n' ' ')" = \
    "$(for i in $(seq 1 24); do printf 'n=%d ' "$i"; done)" ] &&
    [ "$(grep 'index.html?n=' <<<"$log" | cut -d' ' -f1 | sort -u | wc -l)" = 2 ] &&
    pass "both workers' access log lines are committed: all 24" ||
    fail "access.log: $log"
  grep -q "cove\[" "$WORK/out2" "$WORK/run/error.log" &&
    fail "runtime errors: $(grep -h "cove\[" "$WORK/out2" "$WORK/run/error.log")"
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
