// doctest checks for base::Status that print the error when they fail.
#pragma once

#include <doctest/doctest.h>

#include "base/status.h"

#define REQUIRE_OK(expr)                                   \
  do {                                                     \
    const ::argus::base::Status argus_status_ = (expr);    \
    REQUIRE_MESSAGE(argus_status_.ok(), argus_status_.message()); \
  } while (false)

#define CHECK_OK(expr)                                     \
  do {                                                     \
    const ::argus::base::Status argus_status_ = (expr);    \
    CHECK_MESSAGE(argus_status_.ok(), argus_status_.message()); \
  } while (false)
