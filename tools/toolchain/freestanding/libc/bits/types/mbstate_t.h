/* Freestanding mbstate_t for libc++'s <__mbstate_t.h> (pvkit images have no wide chars). */
#ifndef PVKIT_FREESTANDING_MBSTATE_T_H
#define PVKIT_FREESTANDING_MBSTATE_T_H
typedef struct { int __count; unsigned __value; } mbstate_t;
#endif
