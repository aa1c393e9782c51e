# queue runtime tests
