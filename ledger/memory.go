package ledger

/*
long long sqlite3_memory_used(void);
long long sqlite3_memory_highwater(int);
*/
import "C"

// SQLiteMemory returns the bytes SQLite has allocated in this process now
// (page caches, prepared statements, schema, lookaside: every connection of
// every Ledger) and the most it had at once. It is for measuring memory;
// crmsync's CRMSYNC_MEMTRACE prints it.
func SQLiteMemory() (used, highwater int64) {
	return int64(C.sqlite3_memory_used()), int64(C.sqlite3_memory_highwater(0))
}
