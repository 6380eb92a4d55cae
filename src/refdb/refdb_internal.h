/* Private to src/refdb. */
#ifndef FANTASIA_REFDB_INTERNAL_H
#define FANTASIA_REFDB_INTERNAL_H
#include "fantasia/refdb.h"
#include <sqlite3.h>

sqlite3 *fc_refdb__sqlite(fc_refdb *db);
size_t fc_refdb__rows_per_block(size_t dim);

#endif
