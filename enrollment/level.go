package enrollment

// Level is a school entry level that is registered online.
type Level string

// The levels. mg3 and mg4 are kindergarten years that are not guaranteed;
// mg5, lop1 and lop6 are guaranteed a public place.
const (
	LevelMG3  Level = "mg3"
	LevelMG4  Level = "mg4"
	LevelMG5  Level = "mg5"
	LevelLop1 Level = "lop1"
	LevelLop6 Level = "lop6"
)

// Levels lists the known levels in school order.
var Levels = []Level{LevelMG3, LevelMG4, LevelMG5, LevelLop1, LevelLop6}

// Valid reports whether l is a known level.
func (l Level) Valid() bool {
	for _, k := range Levels {
		if l == k {
			return true
		}
	}
	return false
}

// Age is the age in years, by birth year, at which a child normally enters
// the level: a child entering in school year Y was born in Y - Age.
func (l Level) Age() int {
	switch l {
	case LevelMG3:
		return 3
	case LevelMG4:
		return 4
	case LevelMG5:
		return 5
	case LevelLop1:
		return 6
	case LevelLop6:
		return 11
	}
	return 0
}

// BirthYear is the normal birth year for the level in the school year that
// starts in schoolYear.
func (l Level) BirthYear(schoolYear int) int { return schoolYear - l.Age() }

// Guaranteed reports whether every child of the level is guaranteed a public
// place (universal preschool at five, compulsory grades 1 and 6).
func (l Level) Guaranteed() bool {
	return l == LevelMG5 || l == LevelLop1 || l == LevelLop6
}

// NameVI is the level's Vietnamese name.
func (l Level) NameVI() string {
	switch l {
	case LevelMG3:
		return "Mẫu giáo 3 tuổi"
	case LevelMG4:
		return "Mẫu giáo 4 tuổi"
	case LevelMG5:
		return "Mẫu giáo 5 tuổi"
	case LevelLop1:
		return "Lớp 1"
	case LevelLop6:
		return "Lớp 6"
	}
	return string(l)
}

// MaxOverAge is how many years older than the level's birth year a child may
// be, with a stated reason (disability, delayed development, ethnic
// minority, orphan, return from abroad, foreign child).
const MaxOverAge = 3
