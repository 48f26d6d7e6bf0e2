// Lists every file a chapter program (and whatever it starts) opens for reading, so that the
// runner can key the cached run on those files' contents (issue 23: a file read by a path the
// front matter does not declare changed, and the next build restored a stale run).
//
// Loaded with LD_PRELOAD; active only when RNNBOOK_OPEN_LOG names the log file. Each open appends
// one line, `R` (for reading only) or `W` (for writing, perhaps also reading) and the absolute
// path, with one write(2) on an O_APPEND descriptor (so lines from several threads or processes do
// not interleave). A file the program writes is its own state, not an input. After MAX_LINES lines it writes a
// last line "#truncated" and stops: the runner then does not cache the run. Opens made by the
// dynamic loader and by glibc internally are not seen; directory listings are not recorded.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_LINES 20000

static int log_fd = -1;
static atomic_long lines_written = 0;

__attribute__((constructor)) static void rnnbook_openlog_init(void) {
    const char *path = getenv("RNNBOOK_OPEN_LOG");
    if (!path || !*path) return;
    // "fd:N": a descriptor the runner opened (a sandboxed program cannot open the log by name).
    if (strncmp(path, "fd:", 3) == 0) {
        int fd = atoi(path + 3);
        if (fd > 2 && fcntl(fd, F_GETFD) >= 0) log_fd = fd;
        return;
    }
    // A raw system call: the interposed openat below must not see the log itself.
    log_fd = (int)syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

static void note_tag(int dirfd, const char *path, char tag) {
    if (log_fd < 0 || !path) return;
    long n = atomic_fetch_add(&lines_written, 1);
    if (n > MAX_LINES) return;
    char line[2 * PATH_MAX + 16];
    size_t len = 0;
    if (n == MAX_LINES) {
        len = (size_t)snprintf(line, sizeof line, "#truncated\n");
    } else if (path[0] == '/') {
        len = (size_t)snprintf(line, sizeof line, "%c%s\n", tag, path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base)) return;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t k = readlink(link, base, sizeof base - 1);
            if (k < 0) return;
            base[k] = 0;
        }
        len = (size_t)snprintf(line, sizeof line, "%c%s/%s\n", tag, base, path);
    }
    if (len >= sizeof line) return;
    ssize_t ignored = write(log_fd, line, len);
    (void)ignored;
}

static void note(int dirfd, const char *path, int writing) { note_tag(dirfd, path, writing ? 'W' : 'R'); }

// A second line, `!` and the path, when the open failed (the sandbox's report: what a program
// looked for and did not find). errno is kept for the caller.
static void note_failure(int dirfd, const char *path) {
    int saved = errno;
    note_tag(dirfd, path, '!');
    errno = saved;
}

static int writes(int flags) { return (flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)); }
static int mode_writes(const char *mode) { return mode && (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+')); }

#define NEXT(name) static __typeof__(name) *next_##name; if (!next_##name) next_##name = dlsym(RTLD_NEXT, #name)
#define MODE_ARG mode_t mode = 0; if (flags & (O_CREAT | __O_TMPFILE)) { va_list ap; va_start(ap, flags); mode = va_arg(ap, mode_t); va_end(ap); }

int open(const char *path, int flags, ...) { MODE_ARG; NEXT(open); note(AT_FDCWD, path, writes(flags)); int r = next_open(path, flags, mode); if (r < 0) note_failure(AT_FDCWD, path); return r; }
int open64(const char *path, int flags, ...) { MODE_ARG; NEXT(open64); note(AT_FDCWD, path, writes(flags)); int r = next_open64(path, flags, mode); if (r < 0) note_failure(AT_FDCWD, path); return r; }
int openat(int dirfd, const char *path, int flags, ...) { MODE_ARG; NEXT(openat); note(dirfd, path, writes(flags)); int r = next_openat(dirfd, path, flags, mode); if (r < 0) note_failure(dirfd, path); return r; }
int openat64(int dirfd, const char *path, int flags, ...) { MODE_ARG; NEXT(openat64); note(dirfd, path, writes(flags)); int r = next_openat64(dirfd, path, flags, mode); if (r < 0) note_failure(dirfd, path); return r; }
int __open_2(const char *path, int flags) { NEXT(__open_2); note(AT_FDCWD, path, writes(flags)); int r = next___open_2(path, flags); if (r < 0) note_failure(AT_FDCWD, path); return r; }
int __open64_2(const char *path, int flags) { NEXT(__open64_2); note(AT_FDCWD, path, writes(flags)); int r = next___open64_2(path, flags); if (r < 0) note_failure(AT_FDCWD, path); return r; }
int __openat_2(int dirfd, const char *path, int flags) { NEXT(__openat_2); note(dirfd, path, writes(flags)); int r = next___openat_2(dirfd, path, flags); if (r < 0) note_failure(dirfd, path); return r; }
int __openat64_2(int dirfd, const char *path, int flags) { NEXT(__openat64_2); note(dirfd, path, writes(flags)); int r = next___openat64_2(dirfd, path, flags); if (r < 0) note_failure(dirfd, path); return r; }
FILE *fopen(const char *path, const char *mode) { NEXT(fopen); note(AT_FDCWD, path, mode_writes(mode)); FILE * r = next_fopen(path, mode); if (!r) note_failure(AT_FDCWD, path); return r; }
FILE *fopen64(const char *path, const char *mode) { NEXT(fopen64); note(AT_FDCWD, path, mode_writes(mode)); FILE * r = next_fopen64(path, mode); if (!r) note_failure(AT_FDCWD, path); return r; }
FILE *freopen(const char *path, const char *mode, FILE *stream) { NEXT(freopen); note(AT_FDCWD, path, mode_writes(mode)); FILE * r = next_freopen(path, mode, stream); if (!r) note_failure(AT_FDCWD, path); return r; }
// An atomic write (a temporary file renamed over the target) writes the target too.
int rename(const char *old, const char *new) { NEXT(rename); note(AT_FDCWD, new, 1); return next_rename(old, new); }
int renameat(int olddirfd, const char *old, int newdirfd, const char *new) {
    NEXT(renameat); note(newdirfd, new, 1); return next_renameat(olddirfd, old, newdirfd, new);
}
int renameat2(int olddirfd, const char *old, int newdirfd, const char *new, unsigned int flags) {
    NEXT(renameat2); note(newdirfd, new, 1); return next_renameat2(olddirfd, old, newdirfd, new, flags);
}
