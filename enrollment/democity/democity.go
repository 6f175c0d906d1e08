// Package democity generates a fictional, Hanoi-like city for demos, load
// tests and development databases.
//
// The city has one authority, about thirty wards and communes, and a little
// over a hundred public schools offering the three guaranteed entry levels
// (mg5, lop1 and lop6). Ward and school names sound like Hanoi's after the
// July 2025 reform (wards and communes directly under the city, no
// districts), and coordinates fall inside a Hanoi-like bounding box, but all
// of the data is invented: codes, residential groups, addresses, quotas and
// catchments do not describe any real place or school.
//
// The city is built for the placement engine and the registration forms to
// have something realistic to chew on: every residential group of every
// ward lies in the catchment of at least one school of each level, some
// wards are split by residential group between two schools, some schools
// also take in a whole neighbouring ward or a few of its groups, and quotas
// are whole classes of 35 with a skew (some small, over-subscribed schools,
// some large ones).
//
// Quotas are sized for a nominal cohort of 20 five-year-olds (mg5), 24
// six-year-olds (lop1) and 22 eleven-year-olds (lop6) per residential
// group, about 12,700, 15,200 and 13,900 children over the city's 634
// groups. Each level has more seats in total than its nominal cohort, so a
// cohort of that size can always be placed, though not always in the school
// nearest home: that is what the authority's reallocation (điều tiết) is for.
//
// Generation is pure and deterministic: no I/O, no clock, no global
// randomness. The pseudo-random choices come from a PCG generator seeded
// from a hash of each school's own key, so every call to Generate returns
// the same city on every machine, and adding a ward does not reshuffle the
// schools of the others.
//
// Reference and Population give the city in the enrollment package's terms
// (reference data with open windows, a population register), for seed
// --demo and for tests: the business package itself knows nothing of the
// demo city.
package democity

// City is the whole generated demo city: the authority that approves quotas
// and catchments, its wards and communes, and its public schools. Each call
// to Generate returns a fresh City that the caller may modify freely.
type City struct {
	Authority Authority
	Wards     []Ward
	Schools   []School
}

// Authority is the administrative body the wards belong to and that, in the
// demo, approves quotas and catchments. The demo city has exactly one, the
// city itself: there is no district level.
type Authority struct {
	// Code is a short ASCII code, "HN".
	Code string
	// Name is the Vietnamese name, "Thành phố Hà Nội".
	Name string
}

// Ward is a ward (phường) or commune (xã) of the demo city: the unit a
// residence is registered in. A ward is divided into residential groups:
// tổ dân phố ("TDP 1", "TDP 2", ...) in a phường, villages ("Thôn Đoài",
// ...) in a xã. Group names are unique within a ward, not across wards.
type Ward struct {
	// Code is an invented five-digit code in the style of Vietnam's official
	// ward codes, unique in the city; residences refer to wards by it.
	Code string
	// Name is the full Vietnamese name with its kind, in NFC, such as
	// "Phường Ba Đình" or "Xã Sóc Sơn".
	Name string
	// Kind is "phuong" for an urban ward or "xa" for a rural commune.
	Kind string
	// Groups are the ward's residential groups, 6 to 30 of them.
	Groups []string
	// Lat and Lon are the ward's centroid in decimal degrees (WGS 84).
	Lat, Lon float64
}

// School is one public school's entry level in the demo city. A school
// offers exactly one of the guaranteed levels: a kindergarten offers mg5, a
// primary school lop1 and a lower-secondary school lop6.
type School struct {
	// Code is unique in the city, short, and made of uppercase ASCII
	// letters, digits and dashes, such as "TH-BADINH-01".
	Code string
	// Name is the Vietnamese name in NFC, such as "Trường Tiểu học Ba Đình".
	Name string
	// Level is "mg5", "lop1" or "lop6".
	Level string
	// Ward is the code of the ward the school stands in.
	Ward string
	// Address is the street address, ending with the ward and the city.
	Address string
	// Lat and Lon are the school's position in decimal degrees (WGS 84),
	// within about a kilometre of its ward's centroid.
	Lat, Lon float64
	// Quota is the number of seats for the level: a whole number of classes
	// of 35 children, between 105 and 525.
	Quota int
	// Catchment lists the residential areas the school admits from. It
	// always includes at least part of the school's own ward, listed first.
	Catchment []Zone
}

// Zone is part of a school's catchment: a whole ward when Groups is empty,
// otherwise only the named residential groups of that ward. Ward is a ward
// code of the city and Groups are groups of that ward.
type Zone struct {
	Ward   string
	Groups []string
}

// The levels a demo school can offer.
const (
	levelMG5  = "mg5"
	levelLop1 = "lop1"
	levelLop6 = "lop6"
)

// Generate returns the demo city. It is deterministic: every call returns
// the same city, built afresh, so callers may modify the result.
func Generate() City {
	wards := buildWards()
	return City{
		Authority: Authority{Code: "HN", Name: "Thành phố Hà Nội"},
		Wards:     wards,
		Schools:   buildSchools(wards),
	}
}
