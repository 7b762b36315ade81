/* Small kernel text files, read without stdio (see sysfile.h). */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "sysfile.h"

int chronon__read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

int chronon__has_word(const char *list, const char *word)
{
	size_t wl = strlen(word);
	for (const char *p = list; (p = strstr(p, word)) != NULL; p += wl) {
		int start = p == list || p[-1] == ' ' || p[-1] == '\n';
		int end = p[wl] == 0 || p[wl] == ' ' || p[wl] == '\n';
		if (start && end)
			return 1;
	}
	return 0;
}
