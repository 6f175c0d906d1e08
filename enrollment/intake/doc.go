// Package intake is the Redis-buffered queue between the registration API
// and PostgreSQL. It is the only package that talks to Redis.
//
// During a registration window a city's whole age cohort arrives within
// hours, most of it in the first minutes after 00:00. The API checks each
// registration in full, then Queue.Submit writes it to a Redis stream in
// one atomic script that also guards against a second registration of the
// same child and against a backlog past its ceiling; only then does the
// parent get a 202 and a tracking code. Workers in a consumer group drain
// the stream into PostgreSQL in batches and acknowledge entries only after
// the transaction commits.
//
// Nothing is dropped: the stream is never trimmed by length; an entry is
// deleted only after it is stored; a restarted worker first re-reads its own
// pending entries; entries of a dead worker are reclaimed after MinIdle and
// stored like any others. While PostgreSQL is unreachable (a network or
// connection error, a server starting, stopping or out of resources),
// intake keeps accepting and workers retry with back-off, counting nothing
// against the entries; while Redis is down, intake answers 503 and never
// 202.
//
// Only an entry's own data sends it to the dead-letter stream: an entry
// that does not decode goes at once; when the database refuses a batch for
// any other reason, the batch is stored entry by entry, the good ones at
// once, and each refused entry has its failure counted (Keys.Failures) and
// is moved, with the reason, on its MaxDeliveries-th. Redis's own delivery
// count, which outages, restarts and reclaims raise, decides nothing.
// DeadLetters lists, shows, replays and drops dead letters for the
// operator; a replayed or dropped one is deleted from the dead-letter
// stream.
//
// Every Redis call of a request has a deadline (Config.Timeout), enforced
// by the caller since the auto-pipeliner does not honour a command's own
// context. A 503 says whether the registration certainly was not saved (no
// connection) or may have been (the command may have reached Redis);
// sending the same form again is safe either way, and answers with the
// first code if it was saved.
//
// Redis holds personal data only in transit: a child is named in key names
// by a keyed hash of its ID number, never the number, and the status
// document of a stored application expires after a short grace, after
// which PostgreSQL answers.
//
// Durability of a 202 is Redis's: run it with appendonly yes and
// maxmemory-policy noeviction, and appendfsync always during a window:
// with everysec Redis postpones writing the append-only file for up to two
// seconds while an fsync is slow and still answers, so even a crash of the
// Redis process can lose accepted registrations (the fault suite measured
// 5 of 4,000 once); with always none are lost, at a cost in throughput.
package intake
