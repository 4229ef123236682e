/* Each unit test file defines suite(); test_main.c runs it. */
#ifndef METASIM_UNIT_TEST_H
#define METASIM_UNIT_TEST_H

#include <check.h>

Suite *suite(void);

#endif
