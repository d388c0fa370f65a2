/* SPDX-License-Identifier: MIT */
/**
 * @file osinspect.h
 * The one header users include: <osinspect/osinspect.h>.
 */
#ifndef OSINSPECT_OSINSPECT_H
#define OSINSPECT_OSINSPECT_H

#include <osinspect/common.h>
#include <osinspect/version.h>
#include <osinspect/error.h>
#include <osinspect/report.h>
#include <osinspect/collect.h>
#include <osinspect/send.h>
#include <osinspect/store.h>

#endif /* OSINSPECT_OSINSPECT_H */
