// Package enrollment is the business of online school enrollment (tuyển sinh
// đầu cấp trực tuyến): who may register for which level, what a registration
// carries, how it is checked, and the rules of its states. Its SQL lives in
// package postgres.
//
// A parent registers a child for one level (mg5, lop1, lop6) and school year
// during that level's registration window. The registration is checked in
// full before it is accepted: the child's 12-digit personal identification
// number must agree with the date of birth and sex, the birth year must be
// the level's (or up to three years earlier with a stated reason), the
// residence must name wards and residential groups of the city, and the
// ranked school choices must be schools that offer the level that year. An
// accepted registration gets an unguessable tracking code at once; the
// intake buffer (package intake) stores it in PostgreSQL moments later.
//
// A child has at most one application per level and school year. The time a
// registration arrived is recorded but is never a priority: placement
// (package allocation) does not look at it.
package enrollment
