/* SPDX-License-Identifier: MIT */
/**
 * @file common.h
 * Macros shared by every public header of libosinspect.
 */
#ifndef OSINSPECT_COMMON_H
#define OSINSPECT_COMMON_H

#ifdef __cplusplus
#define OSI_BEGIN_DECLS extern "C" {
#define OSI_END_DECLS }
#else
#define OSI_BEGIN_DECLS
#define OSI_END_DECLS
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define OSI_EXPORT __attribute__((visibility("default")))
#define OSI_DEPRECATED __attribute__((deprecated))
#define OSI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define OSI_EXPORT
#define OSI_DEPRECATED
#define OSI_PRINTF(fmt, args)
#endif

#endif /* OSINSPECT_COMMON_H */
