/* lua_proc.c - the few process primitives `skinny sweep` (scripts/skinny/sweep.lua)
 * needs and plain Lua lacks: start worker processes with a pipe on their stdout,
 * wait on several pipes at once, stop and reap workers by PID, and notice SIGINT;
 * and a private file for `skinny cluster init` (scripts/skinny/cluster_cli.lua),
 * free ports for the specs that start daemons.
 * Lives in build/skinny/core.so beside skinny.core; sweep.lua opens it with
 *   package.loadlib(<path of core.so>, "luaopen_skinny_proc")
 *
 *   proc.spawn({file, arg1, ...}) -> pid, fd   fork + execvp; the child's stdout is
 *       the write end of a pipe, fd the read end (close-on-exec); stdin and stderr
 *       are inherited. nil, message if the pipe or fork fails; a failed exec exits
 *       the child with status 127 (its message on stderr).
 *   proc.poll({fd, ...}, ms) -> {fd, ...}   the fds that can be read (data or end
 *       of file) within ms; {} on timeout or when a signal interrupted the wait.
 *   proc.read(fd) -> string                 up to 64 KiB; "" at end of file;
 *       nil when nothing is there yet (EAGAIN/EINTR).
 *   proc.close(fd)
 *   proc.kill(pid, sig) -> true | nil, message   sig a number (proc.SIGTERM, ...)
 *   proc.wait(pid, nohang) -> "exit", code | "signal", n | nil (still running)
 *   proc.trap_sigint([false])                from now on SIGINT sets a flag (and
 *                                            clears it); false: SIGINT's default again
 *   proc.interrupted() -> boolean            the flag
 *   proc.isatty(fd) -> boolean
 *   proc.ncpu() -> n                         online processors (at least 1)
 *   proc.now() -> ms                         a monotonic clock (float), for rates
 *                                            and ETAs only: never the simulation's
 *   proc.write_private(path, text) -> true | nil, message
 *       a new file only this user can read (`skinny cluster init` writes the
 *       cluster's key with it): open(O_CREAT|O_EXCL|O_WRONLY, 0600), so an existing
 *       file or symlink is never followed or replaced and the file is never readable
 *       by others, not even for an instant; write it all, fsync, close, fsync the
 *       directory. On a failure after the file was created it is removed. The
 *       message names the path and what failed; it never contains the text.
 *   proc.free_ports(n) -> {port, ...}        n distinct TCP ports free on 127.0.0.1
 *       now (bound to port 0 together, then closed), for tests that start daemons;
 *       nil, message if a socket fails
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <lauxlib.h>
#include <lua.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

__attribute__((visibility("default"))) int luaopen_skinny_proc(lua_State *L);

#define MAX_ARGS 256
#define MAX_FDS 256

static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    g_interrupted = 1;
}

static int fail(lua_State *L, const char *what)
{
    lua_pushnil(L);
    lua_pushfstring(L, "%s: %s", what, strerror(errno));
    return 2;
}

static int l_spawn(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n >= 1 && n < MAX_ARGS, 1, "a list of 1 to 255 words");
    char *argv[MAX_ARGS];
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        argv[i - 1] = (char *)luaL_checkstring(L, -1); /* kept alive by the table */
        lua_pop(L, 1);
    }
    argv[n] = NULL;
    int p[2];
    if (pipe(p) != 0) return fail(L, "pipe");
    (void)fcntl(p[0], F_SETFD, FD_CLOEXEC);
    (void)fcntl(p[1], F_SETFD, FD_CLOEXEC);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return fail(L, "fork");
    }
    if (pid == 0) {
        if (dup2(p[1], 1) < 0) _exit(127);
        signal(SIGINT, SIG_DFL);
        execvp(argv[0], argv);
        fprintf(stderr, "skinny: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(p[1]);
    lua_pushinteger(L, pid);
    lua_pushinteger(L, p[0]);
    return 2;
}

static int l_poll(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_Integer ms = luaL_checkinteger(L, 2);
    lua_Integer n = luaL_len(L, 1);
    luaL_argcheck(L, n >= 0 && n <= MAX_FDS, 1, "at most 256 fds");
    struct pollfd fds[MAX_FDS];
    for (lua_Integer i = 1; i <= n; i++) {
        lua_geti(L, 1, i);
        fds[i - 1].fd = (int)luaL_checkinteger(L, -1);
        fds[i - 1].events = POLLIN;
        fds[i - 1].revents = 0;
        lua_pop(L, 1);
    }
    if (ms < 0) ms = 0;
    if (ms > 60000) ms = 60000;
    int rv = poll(fds, (nfds_t)n, (int)ms);
    lua_newtable(L);
    if (rv < 0) {
        if (errno == EINTR) return 1;
        return fail(L, "poll");
    }
    lua_Integer k = 0;
    for (lua_Integer i = 0; i < n; i++) {
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
            lua_pushinteger(L, fds[i].fd);
            lua_rawseti(L, -2, ++k);
        }
    }
    return 1;
}

static int l_read(lua_State *L)
{
    int fd = (int)luaL_checkinteger(L, 1);
    char buf[65536];
    ssize_t r = read(fd, buf, sizeof buf);
    if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) {
            lua_pushnil(L);
            return 1;
        }
        return fail(L, "read");
    }
    lua_pushlstring(L, buf, (size_t)r);
    return 1;
}

static int l_close(lua_State *L)
{
    close((int)luaL_checkinteger(L, 1));
    return 0;
}

static int l_kill(lua_State *L)
{
    lua_Integer pid = luaL_checkinteger(L, 1);
    lua_Integer sig = luaL_checkinteger(L, 2);
    luaL_argcheck(L, pid > 0, 1, "a process id (> 0)");
    if (kill((pid_t)pid, (int)sig) != 0) return fail(L, "kill");
    lua_pushboolean(L, 1);
    return 1;
}

static int l_wait(lua_State *L)
{
    lua_Integer pid = luaL_checkinteger(L, 1);
    luaL_argcheck(L, pid > 0, 1, "a process id (> 0)");
    int nohang = lua_toboolean(L, 2);
    int st = 0;
    pid_t r;
    do {
        r = waitpid((pid_t)pid, &st, nohang ? WNOHANG : 0);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return 0;
    if (r < 0) return fail(L, "waitpid");
    if (WIFEXITED(st)) {
        lua_pushliteral(L, "exit");
        lua_pushinteger(L, WEXITSTATUS(st));
    } else {
        lua_pushliteral(L, "signal");
        lua_pushinteger(L, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    }
    return 2;
}

static int l_trap_sigint(lua_State *L)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = (lua_isnoneornil(L, 1) || lua_toboolean(L, 1)) ? on_sigint : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocked poll returns EINTR */
    if (sigaction(SIGINT, &sa, NULL) != 0) return fail(L, "sigaction");
    g_interrupted = 0;
    lua_pushboolean(L, 1);
    return 1;
}

static int l_interrupted(lua_State *L)
{
    lua_pushboolean(L, g_interrupted != 0);
    return 1;
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
    return 1;
}

static int l_ncpu(lua_State *L)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    lua_pushinteger(L, n > 0 ? n : 1);
    return 1;
}

static int l_now(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec * 1000.0 + (lua_Number)ts.tv_nsec / 1e6);
    return 1;
}

/* Write all of buf to fd (retrying short writes and EINTR); 0 or -1 with errno. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static int l_write_private(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t len;
    const char *text = luaL_checklstring(L, 2, &len);
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        lua_pushnil(L);
        lua_pushfstring(L, "cannot create %s: %s", path, strerror(e));
        return 2;
    }
    const char *step = NULL;
    if (fchmod(fd, 0600) != 0) { /* exactly 0600 whatever the umask took away */
        step = "cannot set its mode to 0600";
    } else if (write_all(fd, text, len) != 0) {
        step = "cannot write it";
    } else if (fsync(fd) != 0) {
        step = "cannot fsync it";
    }
    int e = errno;
    if (close(fd) != 0 && step == NULL) {
        e = errno;
        step = "cannot close it";
    }
    if (step != NULL) {
        (void)unlink(path); /* never leave a partial key behind */
        lua_pushnil(L);
        lua_pushfstring(L, "%s: %s: %s (the file was removed)", path, step, strerror(e));
        return 2;
    }
    /* the new name durable too: fsync the directory that holds it */
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_free_ports(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 1 && n <= 64, 1, "1 to 64 ports");
    int fds[64];
    int k = 0;
    const char *what = NULL;
    lua_newtable(L);
    for (; k < n; k++) {
        fds[k] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fds[k] < 0) {
            what = "socket";
            break;
        }
        struct sockaddr_in a;
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        socklen_t al = sizeof a;
        if (bind(fds[k], (struct sockaddr *)&a, sizeof a) != 0 ||
            getsockname(fds[k], (struct sockaddr *)&a, &al) != 0) {
            what = "bind";
            k++;
            break;
        }
        lua_pushinteger(L, ntohs(a.sin_port));
        lua_rawseti(L, -2, k + 1);
    }
    int e = errno;
    for (int i = 0; i < k; i++) close(fds[i]);
    if (what != NULL) {
        errno = e;
        return fail(L, what);
    }
    return 1;
}

static const luaL_Reg funcs[] = {
    {"now", l_now},
    {"spawn", l_spawn},
    {"poll", l_poll},
    {"read", l_read},
    {"close", l_close},
    {"kill", l_kill},
    {"wait", l_wait},
    {"trap_sigint", l_trap_sigint},
    {"interrupted", l_interrupted},
    {"isatty", l_isatty},
    {"ncpu", l_ncpu},
    {"write_private", l_write_private},
    {"free_ports", l_free_ports},
    {NULL, NULL},
};

int luaopen_skinny_proc(lua_State *L)
{
    luaL_newlib(L, funcs);
    lua_pushinteger(L, SIGINT);
    lua_setfield(L, -2, "SIGINT");
    lua_pushinteger(L, SIGTERM);
    lua_setfield(L, -2, "SIGTERM");
    lua_pushinteger(L, SIGKILL);
    lua_setfield(L, -2, "SIGKILL");
    return 1;
}
