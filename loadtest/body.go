package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// kind is what a generated request is meant to provoke.
type kind uint8

const (
	kindFresh   kind = iota // a new child: 202
	kindInvalid             // a form that breaks a rule: 422
	kindSame                // an earlier child sent again unchanged: 200 with the first code
	kindChanged             // an earlier child sent again with a change: 409
	numKinds
)

var kindNames = [numKinds]string{"fresh", "invalid", "repeat_same", "repeat_changed"}

func (k kind) String() string { return kindNames[k] }

// dupMinLag is how many requests back a resubmission reaches at least, so
// that the first submission has normally been answered by then.
const dupMinLag = 1024

// generator builds registration bodies. Body i is a pure function of the
// seed, i and the city, so a resubmission can rebuild an earlier child
// without keeping it, and any number of goroutines may call it at once.
//
// Child ID numbers are unique within a run for every i below maxIndex: i is
// mapped one-to-one onto (province, sex, serial), seven in eight to Hà Nội
// (province 001) while its serials last, the rest to the other provinces.
type generator struct {
	seed     uint64
	levels   []levelPlan
	levelW   []float64 // cumulative weights of levels
	wards    []cityWard
	wardW    []float64 // cumulative weights of wards (by number of groups)
	others   []string  // province codes other than Hà Nội, sorted
	dupShare float64
	badShare float64
}

// levelPlan is what the generator knows of one open window.
type levelPlan struct {
	w       cityWindow
	schools []citySchool
	// catch maps a ward code and residential group ("" for a whole-ward
	// zone) to the schools whose catchment holds it.
	catch  map[[2]string][]int
	inWard map[string][]int // schools located in a ward
}

// Level weights: roughly the yearly cohorts of Hà Nội (grade 1 ≈ 150k,
// grade 6 ≈ 130k, mg5 ≈ 100k).
var levelWeight = map[string]float64{"lop1": 0.40, "lop6": 0.35, "mg5": 0.25}

// maxIndex bounds the number of requests of one run so that child ID
// numbers stay unique (see identity).
const maxIndex = 10_000_000

// newGenerator returns a generator for the city. dupShare and badShare are
// the shares of resubmissions and of invalid forms.
func newGenerator(c *city, seed uint64, dupShare, badShare float64) (*generator, error) {
	if dupShare < 0 || badShare < 0 || dupShare+badShare > 1 {
		return nil, fmt.Errorf("shares of duplicates (%g) and invalid forms (%g) must be ≥ 0 and add up to at most 1", dupShare, badShare)
	}
	g := &generator{seed: seed, wards: c.Wards, dupShare: dupShare, badShare: badShare}
	total := 0.0
	for _, w := range c.Windows {
		p := levelPlan{w: w, schools: c.Schools[w.Level], catch: map[[2]string][]int{}, inWard: map[string][]int{}}
		if len(p.schools) == 0 {
			return nil, fmt.Errorf("no school offers level %s", w.Level)
		}
		for i, s := range p.schools {
			p.inWard[s.Ward] = append(p.inWard[s.Ward], i)
			for _, z := range s.Catchment {
				if len(z.Groups) == 0 {
					p.catch[[2]string{z.Ward, ""}] = append(p.catch[[2]string{z.Ward, ""}], i)
				}
				for _, gr := range z.Groups {
					p.catch[[2]string{z.Ward, gr}] = append(p.catch[[2]string{z.Ward, gr}], i)
				}
			}
		}
		wt := levelWeight[w.Level]
		if wt == 0 {
			wt = 0.25
		}
		total += wt
		g.levels = append(g.levels, p)
		g.levelW = append(g.levelW, total)
	}
	total = 0
	for _, w := range c.Wards {
		total += float64(len(w.Groups) + 1)
		g.wardW = append(g.wardW, total)
	}
	for code := range enrollment.Provinces {
		if code != "001" {
			g.others = append(g.others, code)
		}
	}
	slices.Sort(g.others)
	return g, nil
}

// rng is a splitmix64 stream: tiny, fast and good enough to draw the
// fields of one registration.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9E3779B97F4A7C15
	z := r.s
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

func (r *rng) float() float64 { return float64(r.next()>>11) / (1 << 53) }
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// stream returns the random stream of request i for a purpose, so that a
// change to how one part is drawn does not shift the others.
func (g *generator) stream(i uint64, purpose uint64) rng {
	r := rng{s: g.seed ^ (i * 0xD1B54A32D192ED03) ^ (purpose << 56)}
	r.next()
	return r
}

const (
	purposeKind = iota + 1
	purposeChild
	purposeDup
	purposeBad
)

// kindOf returns what request i is: fresh, invalid or a resubmission.
func (g *generator) kindOf(i uint64) kind {
	r := g.stream(i, purposeKind)
	u := r.float()
	switch {
	case u < g.badShare:
		return kindInvalid
	case u < g.badShare+g.dupShare && i >= dupMinLag:
		if r.next()&1 == 0 {
			return kindSame
		}
		return kindChanged
	}
	return kindFresh
}

// identity maps i one-to-one onto a province code, a sex and a six-digit
// serial, so that the ID numbers of distinct i differ (for i < maxIndex).
func (g *generator) identity(i uint64) (province string, sex enrollment.Sex, serial int) {
	const serials = 1_000_000
	// Scramble the serial with an affine map x → a·x + b mod 10^6 drawn
	// from the seed: a bijection of [0, 10^6) (a is coprime to 10^6), and
	// runs with different seeds draw their children's serials from
	// unrelated orders, so they rarely meet (about n₁·n₂/10^6 per province,
	// sex and birth year).
	r := rng{s: g.seed}
	a := r.next()%(serials/2)*2 + 1
	if a%5 == 0 {
		a += 2
	}
	b := r.next() % serials
	scramble := func(x uint64) int { return int((x%serials*a + b) % serials) }
	p, q := i%8, i/8
	h := q*7 + p
	var o uint64
	switch {
	case p < 7 && h < 2*serials:
		sex = enrollment.Male
		if h&1 == 1 {
			sex = enrollment.Female
		}
		return "001", sex, scramble(h >> 1)
	case p == 7:
		o = q
	default: // Hà Nội's serials are used up: overflow to other provinces
		o = 60_000_000 + (h - 2*serials)
	}
	province = g.others[o%uint64(len(g.others))]
	rest := o / uint64(len(g.others))
	sex = enrollment.Male
	if rest&1 == 1 {
		sex = enrollment.Female
	}
	return province, sex, scramble(rest >> 1)
}

// request returns the body of request i and what it is meant to provoke.
func (g *generator) request(i uint64) ([]byte, kind) {
	k := g.kindOf(i)
	switch k {
	case kindInvalid:
		f := g.form(i)
		r := g.stream(i, purposeBad)
		invalidate(f, &r)
		return appendForm(nil, f), k
	case kindSame, kindChanged:
		j, ok := g.earlierFresh(i)
		if !ok {
			break
		}
		f := g.form(j)
		if k == kindChanged {
			r := g.stream(i, purposeDup)
			change(f, &r)
		}
		return appendForm(nil, f), k
	}
	return appendForm(nil, g.form(i)), kindFresh
}

// earlierFresh picks a fresh request at least dupMinLag before i.
func (g *generator) earlierFresh(i uint64) (uint64, bool) {
	if i < dupMinLag {
		return 0, false
	}
	r := g.stream(i, purposeDup)
	j := uint64(r.intn(int(i-dupMinLag) + 1))
	for ; ; j-- {
		if g.kindOf(j) == kindFresh {
			return j, true
		}
		if j == 0 {
			return 0, false
		}
	}
}

// form builds the registration of child i: a valid form for one of the
// open windows, from a residence in the city, with the catchment school of
// that residence as first choice.
func (g *generator) form(i uint64) *enrollment.Form {
	r := g.stream(i, purposeChild)
	lp := &g.levels[searchCum(g.levelW, r.float())]
	w := lp.w
	province, sex, serial := g.identity(i)

	year := w.BirthYear
	var reason string
	if r.float() < 0.01 { // about 1 in 100 is older, with a stated reason
		year--
		reason = overAgeReasons[r.intn(len(overAgeReasons))]
	}
	dob := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.intn(365))

	family := pickWeighted(familyNames, r.float())
	f := &enrollment.Form{Registration: enrollment.Registration{
		Level:      enrollment.Level(w.Level),
		SchoolYear: w.SchoolYear,
		Child: enrollment.Child{
			IDNumber:      enrollment.MakeIDNumber(province, dob, sex, serial),
			FullName:      personName(&r, family, sex),
			DateOfBirth:   dob.Format(time.DateOnly),
			Sex:           sex,
			Ethnicity:     pickWeighted(ethnicities, r.float()),
			PlaceOfBirth:  enrollment.Provinces[province],
			OverAgeReason: reason,
		},
	}, Consent: true}

	ward := g.wards[searchCum(g.wardW, r.float())]
	cur := enrollment.Address{Ward: ward.Code, Address: streetAddress(&r)}
	if len(ward.Groups) > 0 && r.float() < 0.95 {
		cur.Group = ward.Groups[r.intn(len(ward.Groups))]
	}
	f.Residence.Current = cur
	switch u := r.float(); {
	case u < 0.80: // permanent residence is the current one
		f.Residence.Permanent = cur
	case u < 0.92: // registered elsewhere in the city
		pw := g.wards[r.intn(len(g.wards))]
		f.Residence.Permanent = enrollment.Address{Ward: pw.Code, Address: streetAddress(&r)}
		if len(pw.Groups) > 0 {
			f.Residence.Permanent.Group = pw.Groups[r.intn(len(pw.Groups))]
		}
	default: // permanent residence outside the city: left empty
	}

	f.Guardian = guardian(&r, family, province)
	switch u := r.float(); {
	case u < 0.01:
		f.PriorityGroup = 1
	case u < 0.03:
		f.PriorityGroup = 2
	case u < 0.08:
		f.PriorityGroup = 3
	}
	f.Choices = lp.choices(&r, cur)
	return f
}

// choices returns the ranked schools of a child living at a: a catchment
// school of the residence first (or a school of the ward, or any school),
// then sometimes one or two more, never more than the window allows.
func (lp *levelPlan) choices(r *rng, a enrollment.Address) []string {
	var first int
	if c := lp.catch[[2]string{a.Ward, a.Group}]; len(c) > 0 {
		first = c[r.intn(len(c))]
	} else if c := lp.catch[[2]string{a.Ward, ""}]; len(c) > 0 {
		first = c[r.intn(len(c))]
	} else if c := lp.inWard[a.Ward]; len(c) > 0 {
		first = c[r.intn(len(c))]
	} else {
		first = r.intn(len(lp.schools))
	}
	picked := []int{first}
	n := 1
	switch u := r.float(); {
	case u < 0.10:
		n = 3
	case u < 0.35:
		n = 2
	}
	n = min(n, lp.w.MaxChoices, len(lp.schools))
	for tries := 0; len(picked) < n && tries < 20; tries++ {
		s := r.intn(len(lp.schools))
		if c := lp.inWard[a.Ward]; len(c) > 0 && r.float() < 0.5 {
			s = c[r.intn(len(c))]
		}
		if !slices.Contains(picked, s) {
			picked = append(picked, s)
		}
	}
	out := make([]string, len(picked))
	for k, s := range picked {
		out[k] = lp.schools[s].Code
	}
	return out
}

func personName(r *rng, family string, sex enrollment.Sex) string {
	if sex == enrollment.Female {
		return family + " " + middleFemale[r.intn(len(middleFemale))] + " " + givenFemale[r.intn(len(givenFemale))]
	}
	return family + " " + middleMale[r.intn(len(middleMale))] + " " + givenMale[r.intn(len(givenMale))]
}

func streetAddress(r *rng) string {
	if r.float() < 0.5 {
		return "Số " + strconv.Itoa(1+r.intn(200)) + " " + streets[r.intn(len(streets))]
	}
	return "Số " + strconv.Itoa(1+r.intn(80)) + ", ngõ " + strconv.Itoa(1+r.intn(300)) + " " + streets[r.intn(len(streets))]
}

var mobilePrefixes = []string{"09", "09", "09", "03", "08", "07", "05"}

func mobile(r *rng) string {
	b := make([]byte, 0, 10)
	b = append(b, mobilePrefixes[r.intn(len(mobilePrefixes))]...)
	for range 8 {
		b = append(b, byte('0'+r.intn(10)))
	}
	return string(b)
}

// guardian returns the parent who registers the child: the father (who
// shares the child's family name), the mother, or sometimes a grandparent
// or guardian.
func guardian(r *rng, family, province string) enrollment.Guardian {
	var gd enrollment.Guardian
	sex := enrollment.Male
	switch u := r.float(); {
	case u < 0.45:
		gd.Relation = "father"
	case u < 0.92:
		gd.Relation, sex = "mother", enrollment.Female
		family = pickWeighted(familyNames, r.float())
	case u < 0.97:
		gd.Relation = "grandparent"
		if r.next()&1 == 0 {
			sex = enrollment.Female
			family = pickWeighted(familyNames, r.float())
		}
	default:
		gd.Relation = "guardian"
		family = pickWeighted(familyNames, r.float())
	}
	gd.FullName = personName(r, family, sex)
	if r.float() < 0.7 {
		dob := time.Date(1978+r.intn(17), 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, r.intn(365))
		gd.IDNumber = enrollment.MakeIDNumber(province, dob, sex, r.intn(1_000_000))
	}
	gd.Phone = mobile(r)
	if r.float() < 0.4 {
		gd.Email = "phuhuynh" + strconv.FormatUint(r.next()%1_000_000_000, 10) + "@example.com"
	}
	return gd
}

// change alters a resubmitted form in a way the intake tells apart from
// the first submission (so it answers 409): a new phone number, or another
// first choice order.
func change(f *enrollment.Form, r *rng) {
	old := f.Guardian.Phone
	for f.Guardian.Phone == old {
		f.Guardian.Phone = mobile(r)
	}
}

// invalidations are the mistakes the invalid forms make; each one is a
// field rule (answered 422), not a malformed request.
var invalidations = []struct {
	name string
	fn   func(f *enrollment.Form)
}{
	{"id_year_mismatch", func(f *enrollment.Form) { // digits 5–6 do not match the birth year
		b := []byte(f.Child.IDNumber)
		b[5] = '0' + (b[5]-'0'+5)%10
		f.Child.IDNumber = string(b)
	}},
	{"id_unknown_province", func(f *enrollment.Form) { f.Child.IDNumber = "003" + f.Child.IDNumber[3:] }},
	{"id_short", func(f *enrollment.Form) { f.Child.IDNumber = f.Child.IDNumber[:11] }},
	{"bad_phone", func(f *enrollment.Form) { f.Guardian.Phone = "0123" }},
	{"no_consent", func(f *enrollment.Form) { f.Consent = false }},
	{"unknown_school", func(f *enrollment.Form) { f.Choices[0] = "KHONGCO-999" }},
	{"duplicate_choice", func(f *enrollment.Form) { f.Choices = append(f.Choices[:1:1], f.Choices[0]) }},
	{"unknown_group", func(f *enrollment.Form) { f.Residence.Current.Group = "Tổ không tồn tại" }},
	{"too_young", func(f *enrollment.Form) { // born the year after the level's birth year
		dob, _ := time.Parse(time.DateOnly, f.Child.DateOfBirth)
		dob = time.Date(dob.Year()+1+boolInt(f.Child.OverAgeReason != ""), dob.Month(), min(dob.Day(), 28), 0, 0, 0, 0, time.UTC)
		f.Child.DateOfBirth = dob.Format(time.DateOnly)
		f.Child.IDNumber = enrollment.MakeIDNumber(f.Child.IDNumber[:3], dob, f.Child.Sex, 1)
	}},
	{"no_name", func(f *enrollment.Form) { f.Child.FullName = "" }},
	{"digits_in_name", func(f *enrollment.Form) { f.Child.FullName += " 2" }},
	{"bad_relation", func(f *enrollment.Form) { f.Guardian.Relation = "uncle" }},
	{"bad_priority", func(f *enrollment.Form) { f.PriorityGroup = 7 }},
	{"no_ward", func(f *enrollment.Form) { f.Residence.Current = enrollment.Address{} }},
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// invalidate applies one of the invalidations to f.
func invalidate(f *enrollment.Form, r *rng) {
	invalidations[r.intn(len(invalidations))].fn(f)
}

// searchCum returns the index of the first cumulative weight above u times
// the total.
func searchCum(cum []float64, u float64) int {
	t := u * cum[len(cum)-1]
	i, _ := slices.BinarySearch(cum, t)
	for i < len(cum)-1 && cum[i] <= t {
		i++
	}
	return min(i, len(cum)-1)
}

// appendForm appends f as JSON, in the shape of the intake's form. It is
// written out by hand because the load generator shares the machine's two
// cores with the server: this is several times cheaper than
// encoding/json, and the tests check it decodes to the same form.
func appendForm(b []byte, f *enrollment.Form) []byte {
	if b == nil {
		b = make([]byte, 0, 1024)
	}
	b = append(b, `{"level":`...)
	b = appendString(b, string(f.Level))
	b = append(b, `,"school_year":`...)
	b = strconv.AppendInt(b, int64(f.SchoolYear), 10)
	b = append(b, `,"child":{"id_number":`...)
	b = appendString(b, f.Child.IDNumber)
	b = append(b, `,"full_name":`...)
	b = appendString(b, f.Child.FullName)
	b = append(b, `,"date_of_birth":`...)
	b = appendString(b, f.Child.DateOfBirth)
	b = append(b, `,"sex":`...)
	b = appendString(b, string(f.Child.Sex))
	b = append(b, `,"ethnicity":`...)
	b = appendString(b, f.Child.Ethnicity)
	b = append(b, `,"place_of_birth":`...)
	b = appendString(b, f.Child.PlaceOfBirth)
	if f.Child.OverAgeReason != "" {
		b = append(b, `,"over_age_reason":`...)
		b = appendString(b, f.Child.OverAgeReason)
	}
	b = append(b, `},"residence":{"permanent":`...)
	b = appendAddress(b, f.Residence.Permanent)
	b = append(b, `,"current":`...)
	b = appendAddress(b, f.Residence.Current)
	b = append(b, `},"guardian":{"full_name":`...)
	b = appendString(b, f.Guardian.FullName)
	b = append(b, `,"relation":`...)
	b = appendString(b, f.Guardian.Relation)
	b = append(b, `,"id_number":`...)
	b = appendString(b, f.Guardian.IDNumber)
	b = append(b, `,"phone":`...)
	b = appendString(b, f.Guardian.Phone)
	b = append(b, `,"email":`...)
	b = appendString(b, f.Guardian.Email)
	b = append(b, `},"priority_group":`...)
	b = strconv.AppendInt(b, int64(f.PriorityGroup), 10)
	b = append(b, `,"choices":`...)
	if f.Choices == nil {
		b = append(b, `null`...)
	} else {
		b = append(b, '[')
		for k, c := range f.Choices {
			if k > 0 {
				b = append(b, ',')
			}
			b = appendString(b, c)
		}
		b = append(b, ']')
	}
	b = append(b, `,"consent":`...)
	b = strconv.AppendBool(b, f.Consent)
	return append(b, '}')
}

func appendAddress(b []byte, a enrollment.Address) []byte {
	b = append(b, `{"ward":`...)
	b = appendString(b, a.Ward)
	b = append(b, `,"group":`...)
	b = appendString(b, a.Group)
	b = append(b, `,"address":`...)
	b = appendString(b, a.Address)
	return append(b, '}')
}

// appendString appends s as a JSON string. UTF-8 is kept as is; quotes,
// backslashes and control characters are escaped, invalid UTF-8 becomes
// U+FFFD (as encoding/json does).
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// writeBodies writes the bodies of requests 0 to o.MaxRequests-1 to
// o.BodiesOut, one a line, for a client such as wrk that cycles through
// pre-generated bodies: the generator's forms, so the server does the
// same work for them as for this load generator's. With o.DistinctFrom,
// a request whose child an earlier run drew is left out and the next one
// taken instead, so that o.MaxRequests bodies are still written: runs
// with different seeds draw some of the same children (their ID numbers
// share a serial space of 10^6 per province, sex and birth year), and a
// second registration of a child is refused (409).
func writeBodies(ctx context.Context, o options, stderr io.Writer) error {
	client := &http.Client{Timeout: 5 * time.Second}
	c, err := fetchCity(ctx, client, o.Target)
	if err != nil {
		return err
	}
	seed := o.Seed
	if seed == 0 {
		r := rng{s: uint64(time.Now().UnixNano())}
		seed = r.next()
	}
	gen, err := newGenerator(c, seed, o.DupShare, o.BadShare)
	if err != nil {
		return err
	}
	drawn, err := drawnChildren(c, o.DistinctFrom)
	if err != nil {
		return err
	}
	f, err := os.Create(o.BodiesOut)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var b []byte
	written, skipped := uint64(0), 0
	for i := uint64(0); written < o.MaxRequests; i++ {
		if i >= maxIndex {
			f.Close()
			return fmt.Errorf("-bodies-out: only %d bodies below request %d whose children no earlier run drew", written, maxIndex)
		}
		body, k := gen.request(i)
		if drawn != nil {
			if _, ok := drawn[gen.childID(i, k)]; ok {
				skipped++
				continue
			}
		}
		b = append(append(b[:0], body...), '\n')
		if _, err := w.Write(b); err != nil {
			f.Close()
			return err
		}
		written++
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if len(o.DistinctFrom) > 0 {
		fmt.Fprintf(stderr, "loadtest: %d bodies written to %s; %d left out, their children drawn by %s\n",
			written, o.BodiesOut, skipped, strings.Join(o.DistinctFrom, ", "))
	}
	return f.Close()
}

// childID returns the ID number of the child request i (of kind k)
// registers: its own, or an earlier one's for a resubmission.
func (g *generator) childID(i uint64, k kind) string {
	if k == kindSame || k == kindChanged {
		if j, ok := g.earlierFresh(i); ok {
			i = j
		}
	}
	return g.form(i).Child.IDNumber
}

// drawnChildren returns the ID numbers of the children drawn by the runs
// of the JSON reports in files (earlier intake runs against the city c):
// those of every request index the run used, whatever the request was
// (an invalid form or a resubmission draws no new child, and counting its
// index anyway only leaves out a few more). Nil when files is empty.
func drawnChildren(c *city, files []string) (map[string]struct{}, error) {
	if len(files) == 0 {
		return nil, nil
	}
	drawn := map[string]struct{}{}
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("-distinct-from: %w", err)
		}
		var r report
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("-distinct-from %s: %w", name, err)
		}
		if r.Scenario != "intake" && r.Scenario != "mixed" || r.Seed == 0 {
			return nil, fmt.Errorf("-distinct-from %s: not the report of an intake run (scenario %q, no seed)", name, r.Scenario)
		}
		// The indices a run used: every request it built (by_kind counts
		// them as they are built, sent or not), and a margin of one per
		// connection.
		n := r.Requests
		built := 0
		for _, v := range r.ByKind {
			built += v
		}
		n = max(n, built) + r.Connections
		g, err := newGenerator(c, r.Seed, 0, 0)
		if err != nil {
			return nil, err
		}
		for i := range uint64(min(n, maxIndex)) {
			drawn[g.form(i).Child.IDNumber] = struct{}{}
		}
	}
	return drawn, nil
}
