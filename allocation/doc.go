// Package allocation is the placement engine: it assigns children to
// schools by their ranked choices, the schools' quotas and the priority
// rules of the authority, and explains every outcome to parents.
//
// The package is pure. It does no I/O, reads no clock and uses no global
// randomness: an Instance goes in and a Result comes out, and the same
// instance always gives the same result, byte for byte once encoded.
// Parents and inspectors can therefore re-run a published placement.
// Submission time plays no part anywhere.
//
// # Priority
//
// The priority of a student at a school is the tuple (class, score,
// lottery); a smaller tuple comes first.
//
// The class is the index of the first of the instance's priority rules
// that holds for the student at the school, or the number of rules if none
// does. A rule is a list of atoms joined by "+", all of which must hold:
// dt1 (permanent and current residence both in the school's catchment),
// dt2 (permanent residence in, current not), dt3 (current in, permanent
// not), in_catchment (either in), group1, group2, group3 (the student's
// priority group) and sibling (a sibling studies at the school). For
// example ["in_catchment+group1", "dt1", "dt2", "dt3"] puts in-catchment
// children of group 1 first, then ĐT1, ĐT2 and ĐT3 children, then everyone
// else.
//
// The score counts at schools that publish scores: higher first, and a
// student without a score comes after every student with one. At other
// schools it has no effect.
//
// The lottery breaks the remaining ties. A student's lottery number is the
// SHA-256 digest of the UTF-8 string seed + "/" + student id (single
// tie-break: one number used at every school) or seed + "/" + school id +
// "/" + student id (multiple tie-break: a number per school), compared as
// bytes, smaller first. The seed is public, so anyone can recompute a
// child's number; see LotteryDigest and LotteryDigestAt.
//
// # Mechanisms
//
// Deferred acceptance (MechanismDA, the default; NYC, Amsterdam, Chile):
// every student applies to its first choice; each school tentatively holds
// the applicants of highest priority up to its quota and rejects the rest;
// rejected students apply to their next choice, and a school may reject a
// student it held for one of higher priority. When nobody is left to
// apply, the held seats become final. The outcome is stable (no student
// prefers a school that has a free seat or admitted someone of lower
// priority) and families gain nothing by listing schools in any order but
// their true preference. Once a school is full, the engine keeps its held
// students in a max-heap by priority, so a proposal to a full school costs
// one comparison and, if it displaces someone, O(log quota); the whole run
// is O(P log q) for P proposals. Students, schools and zones are numbered,
// each student's choices are one slice of a flat array, and priorities are
// compared as integers (class, a score key, the first eight bytes of the
// digest), falling back to the full digest only on a tie of those bytes.
//
// Boston (MechanismBoston, immediate acceptance): in round k each student
// still without a seat applies to its k-th choice and each school admits
// its applicants by priority into the seats it still has, for good. It is
// offered so authorities can compare; it rewards ranking a school one can
// get over one's true favourite.
//
// # Administrative placement
//
// Children of guaranteed levels must all get a public place. When
// AdministrativePlacement is on, after the mechanism the students marked
// Guaranteed that have no seat are taken one at a time in order of their
// single-lottery digest (whatever the tie-break), and each is placed at
// the school nearest to its location (great-circle distance by Distance,
// ties to the smaller school id) that still has a free seat at its turn.
// Students or schools without a location take no part. Schools are held
// in a 3-d tree on the unit sphere with live counts, and a school that
// fills is removed, so each placement costs about O(log schools).
//
// # Cutoffs and explanations
//
// A school's cutoff is the priority of the last student the mechanism
// admitted there, reported only when the mechanism filled every seat
// (otherwise every applicant was admitted and there is no cutoff). Under
// deferred acceptance it is the lowest priority admitted, the threshold a
// family compares against to see why its child did not get in. Under
// Boston it is the lowest priority admitted in the round that filled the
// school. Administrative placements never move a cutoff: they only fill
// seats that no applicant was refused.
//
// For every student, Result.Explain says why it did not get each school it
// ranked above the one it obtained: the school was full, and the student's
// priority there fell short of the cutoff by class, by score or by lottery
// number; or (Boston) the school filled in an earlier round; or it had no
// seats. Each explanation is written in Vietnamese and in English.
//
// # Files
//
// Input is read strictly, since a placement that silently misread its
// file could not be defended: an empty seed is refused like a missing one
// (it would make every lottery number predictable from the ids alone); a
// location must give both lat and lon (a missing one is never read as 0);
// unknown fields, scores for unknown students and a school chosen twice
// are errors naming the record.
//
// Decode reads an instance file and EncodeInstance writes one;
// Result.WriteJSON writes a result file. An instance file is
//
//	{"level":"lop1", "seed":"2026-lop1-phuong-ba-dinh", "mechanism":"da", "tie_break":"single",
//	 "priority_rules":["in_catchment+group1","dt1","dt2","dt3"],
//	 "administrative_placement":true,
//	 "schools":[{"id":"T1","quota":35,"catchment":["Z1"],"location":{"lat":21.03,"lon":105.84},
//	             "scores":{"hs-1":27.5}}],
//	 "students":[{"id":"hs-1","choices":["T1","T2"],"permanent_zone":"Z1","current_zone":"Z1",
//	              "priority_group":0,"siblings_at":["T2"],"guaranteed":true,
//	              "location":{"lat":21.02,"lon":105.85}}]}
//
// with defaults mechanism "da", tie_break "single", administrative_placement
// true and no priority rules; seed is required. A result file is
//
//	{"level":"lop1","seed":"…","mechanism":"da","tie_break":"single","priority_rules":[…],
//	"assignments":[
//	{"student":"hs-1","school":"T2","choice_rank":2,"via":"choice","explanations":[
//	  {"school":"T1","choice_rank":1,"reason":"full","missed_by":"lottery",
//	   "priority":{"class":1,"score":null,"lottery":"9f…"},"vi":"…","en":"…"}]},
//	{"student":"hs-2","school":"T3","choice_rank":0,"via":"administrative","distance_km":1.84,"explanations":[…]},
//	{"student":"hs-3","school":null,"choice_rank":0,"via":"unassigned"}
//	],
//	"schools":[
//	{"id":"T1","quota":35,"admitted":35,"admitted_by_choice":35,"administrative":0,
//	 "cutoff":{"class":1,"score":null,"lottery":"7a…"}}
//	],
//	"stats":{"students":3,"schools":3,"seats":…,"assigned_by_choice":…,"administrative":…,
//	 "unassigned":…,"guaranteed":…,"unassigned_guaranteed":…,"unassigned_guaranteed_no_location":…,
//	 "free_seats":…,"full_schools":…,"schools_filled_by_choice":…,"proposals":…,
//	 "choice_rank_histogram":[…]}}
//
// Assignments follow the input order of students and schools the input
// order of schools; the seat of each student does not depend on either
// order. In a priority ("cutoff" and "priority"), "class" is the 0-based
// rule index (explanations speak of level class+1), "score" is the score
// or null when the school has no scores or the student has none there, and
// "lottery" is the full digest in lowercase hexadecimal. "filled_round"
// appears under Boston only.
package allocation
