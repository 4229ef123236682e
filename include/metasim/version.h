/* metasim version. The single source of the version number: CMake reads it from here. */
#ifndef METASIM_VERSION_H
#define METASIM_VERSION_H

#define METASIM_VERSION_MAJOR 0
#define METASIM_VERSION_MINOR 1
#define METASIM_VERSION_PATCH 0
#define METASIM_VERSION_STRING "0.1.0"

/* One integer that orders releases: major * 10000 + minor * 100 + patch. */
#define METASIM_VERSION_NUMBER                                                                     \
    (METASIM_VERSION_MAJOR * 10000 + METASIM_VERSION_MINOR * 100 + METASIM_VERSION_PATCH)

#endif
