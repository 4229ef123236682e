/* The library's version, compiled in so a program can detect a header/library mismatch. */
#include "metasim/metasim.h"

const char *metasim_version(void)
{
    return METASIM_VERSION_STRING;
}

int metasim_version_number(void)
{
    return METASIM_VERSION_NUMBER;
}
