# Embeds the Lua scripts of common/lua/ as C strings (cmake -P).
#
#   cmake -DSRC=<common/lua> -DOUT=<scripts_lua.c> -DNAMES=commit,promote,...
#         -P embed.cmake
#
# Writes OUT with script_lua_name[] and script_lua_text[], indexed by enum
# script_id (scripts.h): script NAME is SRC/NAME.lua, and its id
# SCRIPT_<NAME in upper case>.  In a .lua file:
#   --@include lib/x.lua   is replaced by that file's text (expanded alike);
#   --@c MACRO             is replaced by the C string macro MACRO of
#                          lifecycle_names.h (LIFECYCLE_ACTIVE_LUA: the
#                          ACTIVE set comes from the one state list);
#   other lines starting with "--" (comments) are left out of the text
#   loaded into Redis.

# The text of PATH with its includes expanded, into VAR.
function(lua_expand path var depth)
  if(depth GREATER 4)
    message(FATAL_ERROR "${path}: --@include nested too deep")
  endif()
  if(NOT EXISTS "${path}")
    message(FATAL_ERROR "embed.cmake: ${path} does not exist")
  endif()
  file(READ "${path}" t)
  string(REGEX MATCHALL "--@include [^\n]+" incs "${t}")
  foreach(inc IN LISTS incs)
    string(REGEX REPLACE "^--@include " "" f "${inc}")
    math(EXPR d "${depth} + 1")
    lua_expand("${SRC}/${f}" sub ${d})
    string(REGEX REPLACE "\n$" "" sub "${sub}")
    string(REPLACE "${inc}" "${sub}" t "${t}")
  endforeach()
  set(${var} "${t}" PARENT_SCOPE)
endfunction()

# The text of script NAME as the lines of a C string literal, into VAR.
function(lua_c name var)
  lua_expand("${SRC}/${name}.lua" t 0)
  string(REGEX REPLACE "--@c ([A-Z_]+)" "@C@\\1" t "${t}")
  string(REGEX REPLACE "\n[ \t]*--[^\n]*" "" t "\n${t}")
  string(REGEX REPLACE "^\n" "" t "${t}")
  if(NOT t MATCHES "\n$")
    string(APPEND t "\n")
  endif()
  if(t MATCHES "(^|\n)[ \t]*--")
    message(FATAL_ERROR "${name}.lua: a comment or directive was left in the text")
  endif()
  string(REPLACE "\\" "\\\\" t "${t}")
  string(REPLACE "\"" "\\\"" t "${t}")
  string(REPLACE "?" "\\?" t "${t}")
  string(REGEX REPLACE "([^\n]*)\n" "\t\"\\1@NL@\"\n" t "${t}")
  string(REGEX REPLACE "\"@C@([A-Z_]+)@NL@\"" "\\1" t "${t}")
  string(REPLACE "@NL@" "\\n" t "${t}")
  set(${var} "${t}" PARENT_SCOPE)
endfunction()

string(REPLACE "," ";" names "${NAMES}")
list(LENGTH names count)
set(names_c "")
set(texts_c "")
foreach(n IN LISTS names)
  string(TOUPPER "${n}" id)
  lua_c("${n}" text)
  string(APPEND names_c "\t[SCRIPT_${id}] = \"${n}\",\n")
  string(APPEND texts_c "\t[SCRIPT_${id}] =\n${text},\n")
endforeach()

set(c "/* Generated from the scripts of common/lua/ by common/lua/embed.cmake:
 * do not edit. */
#include \"lifecycle_names.h\"
#include \"scripts.h\"

_Static_assert(${count} == SCRIPT_COUNT,
               \"common/CMakeLists.txt: one .lua script per enum script_id\");

extern const char *const script_lua_name[SCRIPT_COUNT];
extern const char *const script_lua_text[SCRIPT_COUNT];

const char *const script_lua_name[SCRIPT_COUNT] = {
${names_c}};

const char *const script_lua_text[SCRIPT_COUNT] = {
${texts_c}};
")
file(WRITE "${OUT}" "${c}")
