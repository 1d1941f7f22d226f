/* Open-heavy microbenchmark: open, read and close every file of a tree
 * listed in a file, ROUNDS times. Measures the per-open cost the sandbox
 * adds (Landlock checks on open, not on read). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: openbench LISTFILE ROUNDS\n");
        return 2;
    }
    FILE *list = fopen(argv[1], "r");
    if (!list) { perror(argv[1]); return 1; }
    char **paths = NULL;
    size_t n = 0, cap = 0;
    char line[4096];
    while (fgets(line, sizeof line, list)) {
        line[strcspn(line, "\n")] = 0;
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            paths = realloc(paths, cap * sizeof *paths);
            if (!paths) return 1;
        }
        paths[n++] = strdup(line);
    }
    fclose(list);
    long rounds = atol(argv[2]);
    char buf[256];
    long total = 0;
    for (long r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) { perror(paths[i]); return 1; }
            ssize_t got = read(fd, buf, sizeof buf);
            if (got > 0) total += got;
            close(fd);
        }
    }
    printf("%ld opens, %ld bytes\n", rounds * (long)n, total);
    return 0;
}
