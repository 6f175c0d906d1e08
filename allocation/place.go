package allocation

// Via says how a student got its seat, or that it got none.
type Via string

// The ways to a seat.
const (
	// ViaChoice is a seat at one of the student's choices, won by the
	// mechanism.
	ViaChoice Via = "choice"
	// ViaAdministrative is a seat given by administrative placement.
	ViaAdministrative Via = "administrative"
	// ViaUnassigned means the student has no seat.
	ViaUnassigned Via = "unassigned"
)

// A Result is the outcome of a placement run.
type Result struct {
	// Level, Seed, Mechanism, TieBreak and PriorityRules echo the instance
	// (with defaults applied), so a result file can be audited alone.
	Level         string
	Seed          string
	Mechanism     Mechanism
	TieBreak      TieBreak
	PriorityRules []string
	// Assignments has one entry per student, in input order.
	Assignments []Assignment
	// Schools has one entry per school, in input order.
	Schools []SchoolResult
	// Stats summarises the run.
	Stats Stats

	c   *compiled
	out *outcome
}

// An Assignment is where one student was placed.
type Assignment struct {
	// Student is the student id.
	Student string
	// School is the school id, or "" when the student has no seat.
	School string
	// ChoiceRank is the 1-based rank of School among the student's
	// choices when Via is ViaChoice, and 0 otherwise.
	ChoiceRank int
	// Via says how the seat was obtained.
	Via Via
	// DistanceKm is the great-circle distance to School for an
	// administrative placement, and 0 otherwise.
	DistanceKm float64
}

// A SchoolResult describes one school after the run.
type SchoolResult struct {
	// ID is the school id.
	ID string
	// Quota is the number of seats.
	Quota int
	// Admitted counts all students placed at the school.
	Admitted int
	// AdmittedByChoice counts those placed by the mechanism.
	AdmittedByChoice int
	// Administrative counts those placed by administrative placement.
	Administrative int
	// Cutoff is the priority of the last student admitted by the
	// mechanism, set only when the mechanism filled every seat; it is nil
	// while the school had a free seat after the mechanism (everyone who
	// applied was admitted) and for a school without seats. Under deferred
	// acceptance it is the lowest priority admitted: anyone with a better
	// priority who applied got in. Under Boston it is the lowest priority
	// admitted in the round that filled the school (see FilledRound).
	// Administrative placements never change it: they fill seats that
	// nobody who applied was refused.
	Cutoff *Priority
	// FilledRound is, under Boston, the round (the choice rank) in which
	// the school filled; 0 otherwise.
	FilledRound int
}

// Stats counts the outcome of a run.
type Stats struct {
	// Students and Schools count the records; Seats sums the quotas.
	Students, Schools, Seats int
	// AssignedByChoice, Administrative and Unassigned partition Students.
	AssignedByChoice, Administrative, Unassigned int
	// Guaranteed counts guaranteed students; UnassignedGuaranteed those of
	// them left without a seat, of whom UnassignedGuaranteedNoLocation had
	// no location (and so took no part in administrative placement).
	Guaranteed, UnassignedGuaranteed, UnassignedGuaranteedNoLocation int
	// ChoiceRankHistogram[k] counts students placed at their (k+1)-th
	// choice; its length is the longest choice list.
	ChoiceRankHistogram []int
	// FreeSeats counts seats left after the run; FullSchools the schools
	// with seats and none left; SchoolsFilledByChoice the schools that the
	// mechanism alone filled (those with a cutoff).
	FreeSeats, FullSchools, SchoolsFilledByChoice int
	// Proposals counts applications the mechanism considered.
	Proposals int
}

// Place runs the mechanism of inst and, when enabled, administrative
// placement, and returns the result. It returns an *InputError when the
// instance is invalid. Place is deterministic: the same instance gives the
// same result, and the seat of each student does not depend on the order
// of students or schools in the instance.
func Place(inst *Instance) (*Result, error) {
	c, err := compile(inst)
	if err != nil {
		return nil, err
	}
	var o *outcome
	if inst.Mechanism == MechanismBoston {
		o = c.boston()
	} else {
		o = c.deferredAcceptance()
	}
	var admin []placement
	if inst.AdministrativePlacement {
		admin = c.administrative(o)
	}
	return c.result(o, admin), nil
}

// result assembles the Result.
func (c *compiled) result(o *outcome, admin []placement) *Result {
	inst := c.inst
	r := &Result{
		Level:         inst.Level,
		Seed:          inst.Seed,
		Mechanism:     inst.Mechanism,
		TieBreak:      inst.TieBreak,
		PriorityRules: inst.PriorityRules,
		Assignments:   make([]Assignment, len(inst.Students)),
		Schools:       make([]SchoolResult, len(inst.Schools)),
		c:             c,
		out:           o,
	}
	r.Mechanism, r.TieBreak = withDefaults(r.Mechanism, r.TieBreak)
	st := &r.Stats
	st.Students, st.Schools = len(inst.Students), len(inst.Schools)
	maxK := 0
	for i := range inst.Students {
		maxK = max(maxK, len(inst.Students[i].Choices))
	}
	st.ChoiceRankHistogram = make([]int, maxK)
	st.Proposals = o.proposals
	for k := range inst.Schools {
		sc := &inst.Schools[k]
		r.Schools[k] = SchoolResult{ID: sc.ID, Quota: sc.Quota, AdmittedByChoice: int(o.count[k])}
		if o.full[k] {
			p := c.priority(o.cutoff[k], int32(k))
			r.Schools[k].Cutoff = &p
			st.SchoolsFilledByChoice++
		}
		if o.filled != nil {
			r.Schools[k].FilledRound = int(o.filled[k])
		}
		st.Seats += sc.Quota
	}
	for i := range inst.Students {
		s := &inst.Students[i]
		a := Assignment{Student: s.ID, Via: ViaUnassigned}
		switch {
		case o.held[i] >= 0:
			j := o.held[i]
			a.School = inst.Schools[c.choice[j]].ID
			a.ChoiceRank = int(j-c.off[i]) + 1
			a.Via = ViaChoice
			st.AssignedByChoice++
			st.ChoiceRankHistogram[a.ChoiceRank-1]++
		case admin != nil && admin[i].school >= 0:
			a.School = inst.Schools[admin[i].school].ID
			a.Via = ViaAdministrative
			a.DistanceKm = admin[i].km
			r.Schools[admin[i].school].Administrative++
			st.Administrative++
		default:
			st.Unassigned++
			if s.Guaranteed {
				st.UnassignedGuaranteed++
				if s.Location == nil {
					st.UnassignedGuaranteedNoLocation++
				}
			}
		}
		if s.Guaranteed {
			st.Guaranteed++
		}
		r.Assignments[i] = a
	}
	for k := range r.Schools {
		sr := &r.Schools[k]
		sr.Admitted = sr.AdmittedByChoice + sr.Administrative
		st.FreeSeats += sr.Quota - sr.Admitted
		if sr.Quota > 0 && sr.Admitted == sr.Quota {
			st.FullSchools++
		}
	}
	return r
}
