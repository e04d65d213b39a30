/* Freestanding declarations for pvkit images: the image defines the mem* functions. */
#ifndef PVKIT_FREESTANDING_STRING_H
#define PVKIT_FREESTANDING_STRING_H
#include <stddef.h>
#ifdef __cplusplus
extern "C" {
#endif
void *memcpy(void *__restrict dst, const void *__restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
char *strstr(const char *h, const char *n);
char *strcpy(char *__restrict d, const char *__restrict s);
char *strncpy(char *__restrict d, const char *__restrict s, size_t n);
char *strcat(char *__restrict d, const char *__restrict s);
char *strncat(char *__restrict d, const char *__restrict s, size_t n);
char *strpbrk(const char *s, const char *a);
size_t strspn(const char *s, const char *a);
size_t strcspn(const char *s, const char *r);
char *strtok(char *__restrict s, const char *__restrict d);
int strcoll(const char *a, const char *b);
size_t strxfrm(char *__restrict d, const char *__restrict s, size_t n);
char *strerror(int e);
#ifdef __cplusplus
}
#endif
#endif
