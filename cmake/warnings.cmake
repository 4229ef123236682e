# Warning flags from STYLE.md, applied to metasim's own targets only.
set(METASIM_WARNINGS
  -Wall -Wextra -Wshadow -Wconversion -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
  -Wundef -Wcast-qual -Wpointer-arith)
if(METASIM_WERROR)
  list(APPEND METASIM_WARNINGS -Werror)
endif()

function(metasim_warnings target)
  target_compile_options(${target} PRIVATE ${METASIM_WARNINGS})
endfunction()
