# crmhost_add_adapter(<name> <source>...)
#
# Builds the crmhost adapter <name> into <name>.so, the file to put in the host's plugin_dir.
# The target is called <name>; link libraries or add options to it as to any other target.
# It is what the host expects an adapter to be, so authors need not know the flags:
#  - a MODULE library: loaded with dlopen, never linked against;
#  - no "lib" prefix, so the file is named after the adapter;
#  - position-independent code;
#  - every symbol hidden except crmh_adapter_entry (CRMH_EXPORT in adapter.h), so two adapters'
#    private functions can never collide inside one host process;
#  - compiled against crmhost::sdk, the header alone: an adapter links nothing of the host's.
# By convention <name> is also the descriptor's .name (what integrations put in `adapter:`).
function(crmhost_add_adapter name)
  if(ARGC LESS 2)
    message(FATAL_ERROR "crmhost_add_adapter(${name}): give at least one source file")
  endif()
  add_library(${name} MODULE ${ARGN})
  target_link_libraries(${name} PRIVATE crmhost::sdk)
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON)
endfunction()
