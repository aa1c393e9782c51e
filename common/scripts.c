#include "scripts.h"

#include <stddef.h>

/* The text of each common/lua/NAME.lua and its name, generated at build
 * time by common/lua/embed.cmake (scripts_lua.c in the build tree). */
extern const char *const script_lua_name[SCRIPT_COUNT];
extern const char *const script_lua_text[SCRIPT_COUNT];

const char *script_name(enum script_id id)
{
	return (unsigned)id < SCRIPT_COUNT ? script_lua_name[id] : NULL;
}

const char *script_source(enum script_id id)
{
	return (unsigned)id < SCRIPT_COUNT ? script_lua_text[id] : NULL;
}
