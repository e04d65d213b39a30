/* Freestanding declarations for pvkit images: no stdio exists; only types for libc++. */
#ifndef PVKIT_FREESTANDING_STDIO_H
#define PVKIT_FREESTANDING_STDIO_H
#include <stddef.h>
#include <stdarg.h>
#define EOF (-1)
#define BUFSIZ 1024
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#ifdef __cplusplus
extern "C" {
#endif
typedef struct pvkit_no_file FILE;
typedef long fpos_t;
int remove(const char *);
int rename(const char *, const char *);
int snprintf(char *__restrict, size_t, const char *__restrict, ...);
int vsnprintf(char *__restrict, size_t, const char *__restrict, va_list);
#ifdef __cplusplus
}
#endif
#endif
