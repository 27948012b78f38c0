"""Generate the built-in sample corpus ``data/sample/articles.csv``.

How the corpus is made
----------------------
Every word in this file was written for this project; nothing is taken from
real news articles or from any other data set.  The articles are composed
from pools of short, hand-written, news-style sentences:

* ``TOPIC_SENTENCES``   - sentences typical of each of the six topics;
* ``STANCE_SENTENCES``  - sentences that argue for or against one of the two
  targets ("arms control talks", "nuclear energy");
* ``CLAIMS`` / ``REBUTTALS`` - short clauses that are dropped into frames such
  as "Critics say {opp}, but {rebut}." so that an article often mentions the
  opposing view before rejecting it;
* ``MENTIONS`` / ``SPORTS_MENTIONS`` - neutral sentences that name a target
  without taking a side (schedules, facts);
* ``FILLER`` / ``OPINION_NOISE`` - neutral sentences and opinions about
  unrelated local matters, shared by all topics, so that no single keyword
  separates the classes.

An article is a lead drawn from its topic pool, a few more topic sentences,
sometimes one or more sentences borrowed from a neighbouring topic
(``NEIGHBOURS``), shared filler, and then either stance material (own
sentences, a quoted claim, a rebutted counter-claim) or, for stance "none",
neutral mentions, balanced "supporters say / critics argue" reporting, or an
opinion about the *other* target.  Sentences are loosely ordered (``RANK``)
and grouped into short paragraphs separated by a blank line.  The
probabilities ``P_*`` set how hard the classification tasks are.

Sentences contain slots such as ``{country}``, ``{city}``, ``{person}`` or
``{num}``.  Names (countries, cities, people, organisations, teams) are
invented and are drawn once per article; numbers are drawn afresh for every
slot.  A fixed plan (``PLAN``) says how many articles of each
topic x target x stance cell to write, so the label distribution is the same
on every run, and a single ``random.Random(SEED)`` drives all choices, so the
output is byte-for-byte reproducible::

    python data/make_sample.py

Only the standard library is used.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

SEED = 20240611
OUT_PATH = Path(__file__).resolve().parent / "sample" / "articles.csv"
MIN_WORDS, MAX_WORDS = 85, 380

TALKS = "arms control talks"
NUCLEAR = "nuclear energy"
TOPICS = ["arms_control", "diplomacy", "economy", "health", "technology", "sports"]


def _lines(block: str) -> list[str]:
    """Split a triple-quoted block into one entry per non-empty line."""
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


# --------------------------------------------------------------------------
# Invented names used to fill slots
# --------------------------------------------------------------------------

COUNTRIES = _lines("""
Norland
Estavia
Karsovia
Valdoria
Meridia
Ostrelia
Brantia
Lorvania
Calvera
Serethia
Avalen
Kordavia
Pelmark
Dravonia
""")

CITIES = _lines("""
Port Calder
Vessingen
Almora
Kessbridge
Lindhaven
Merrow
Saltmere
Old Brannick
Tarnsby
Corvallen
Eastwick Bay
Hollin
Redcastle
Varnholm
Selby Cross
Duncairn
Fennick
Greyhaven
Ashford Vale
Marlow Quay
""")

FIRST_NAMES = _lines("""
Anselm
Helga
Mirela
Tomas
Ines
Bram
Odile
Kasimir
Lena
Rafael
Saskia
Yusuf
Priya
Emeka
Aino
Dario
Freya
Ilya
Noor
Joaquin
Maren
Oskar
Talia
Viktor
Zofia
Hamid
Leona
Pavel
Rosa
Stellan
Wen
Amara
Cato
Dagny
Elio
Greta
Ivo
Kenji
Lucia
Matteo
""")

SURNAMES = _lines("""
Droy
Marrow
Castell
Ferro
Valtine
Brennick
Lautrel
Quintaro
Morrend
Tesk
Ambery
Kovalin
Saradi
Pellworth
Ostrander
Vey
Linnqvist
Carabel
Dunmore
Achterberg
Solano
Imhoff
Tarrant
Belcourt
Rendall
Okonjo
Halloran
Verhoeven
Szabo
Marchetti
""")

ORGS = _lines("""
Halvard Institute
Corran Centre for Policy Research
Bellweather Foundation
Institute for Northern Affairs
Ardent Research Group
Tallis Economic Forum
Aurel Policy Lab
Vantage Security Forum
Greystone Institute
Coastal Studies Trust
""")

COMPANIES = _lines("""
Norvane Systems
Kestrel Microdevices
Altmark Industries
Brightwater Energy
Solvik Technologies
Pellam Robotics
Harrowgate Steel
Corvid Semiconductors
Eastfield Logistics
Quillon Software
""")

AGENCIES = _lines("""
Meridian Ratings
Sterling Credit
Fairholt Ratings
""")

TEAMS = _lines("""
Port Calder Rovers
Vessingen United
Saltmere Athletic
Lindhaven Harriers
Kessbridge Wanderers
Tarnsby City
Redcastle Albion
Merrow Town
Hollin Rangers
Greyhaven Rovers
Duncairn Thistle
Varnholm Vikings
""")

OCCUPATIONS = _lines("""
retired teacher
bakery owner
taxi driver
nurse
fisherman
shop assistant
student
bus driver
pensioner
software developer
farmer
hotel manager
""")

ANALYST_ROLES = ["an analyst", "a senior fellow", "a researcher", "a policy director"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
NUMBER_WORDS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
]
ORDINALS = ["second", "third", "fourth", "fifth", "sixth"]
MINISTER_BY_TOPIC = {
    "arms_control": "Defence Minister",
    "diplomacy": "Foreign Minister",
    "economy": "Finance Minister",
    "health": "Health Minister",
    "technology": "Digital Affairs Minister",
    "sports": "Sports Minister",
}

# --------------------------------------------------------------------------
# Topic sentences (the first one drawn becomes the lead)
# --------------------------------------------------------------------------

TOPIC_SENTENCES: dict[str, list[str]] = {
    "arms_control": _lines("""
Negotiators from {country} and {country2} spent {day} comparing draft language on warhead ceilings.
The draft treaty would cap deployed launchers at {num} on each side, according to a copy seen by reporters.
Inspectors would be allowed {n} short-notice visits a year to missile bases under the proposed rules.
Verification has long been the sticking point, with each side accusing the other of hiding mobile launchers.
{envoy} told reporters in {city} that the technical teams had narrowed their differences on data exchanges.
Stockpile figures were last exchanged {n} years ago, before the previous agreement lapsed.
A satellite image published by the {org} appeared to show new silo construction near the border.
Officials said the test moratorium would stay in place while the delegations continued their work.
The proposal includes a hotline between military commands to reduce the risk of an accidental launch.
Both governments have accused each other of stretching the definition of a short-range missile.
Under the old accord a heavy bomber counted as a single warhead, a rule that is now under review.
The defence ministries of {country} and {country2} released matching statements on the withdrawal of tactical weapons.
A working group on chemical stockpiles met separately and reported steady progress on destruction timelines.
Researchers at the {org} estimate that {country} holds several hundred warheads, though the figure is disputed.
A clause on missile defence systems was left in brackets, meaning it remains unresolved.
The delegations agreed in principle to exchange telemetry from their missile tests each year.
Seismic monitoring stations recorded no unusual activity near the former test site this month.
The treaty text runs to more than {num} pages, most of it technical annexes on counting rules.
Military observers will be invited to watch the dismantling of {n} launchers at a base outside {city}.
The agreement would ban intermediate-range missiles within {num} kilometres of the border.
Officials are also discussing limits on hypersonic glide vehicles, which did not exist when the last accord was signed.
A joint commission would meet twice a year to settle compliance disputes.
{country} announced it would publish the number of its deployed warheads for the first time in years.
Verification experts say tags and seals on warheads could allow counting without revealing design secrets.
Disarmament campaigners gathered outside the conference centre in {city} holding placards with warhead counts.
The non-proliferation review conference is due to open in {month}, with enrichment limits on the agenda.
Negotiators spent much of the session on definitions, including what counts as a deployed launcher.
{minister} confirmed that a batch of older missiles had been moved into storage.
The expired agreement allowed {n} on-site inspections a year, and the new draft would nearly double that.
Delegates reviewed a proposal to give notice at least {n} days before any large missile exercise.
Both militaries have modernised their bomber fleets since the last round of cuts.
The draft includes a withdrawal clause that requires six months' notice.
A separate annex deals with sea-launched cruise missiles, which are notoriously hard to count.
An exchange of data on missile production sites is planned for the end of the quarter.
Experts from the {org} briefed delegates on new techniques for detecting undeclared enrichment.
The monitors' report noted {n} violations involving artillery near the demilitarised strip.
Limits on armed drones, a newer issue, were added to the agenda at the request of {country}.
The warhead dismantlement facility near {city} is expected to process about {num} units a year.
Under the counting rules each re-entry vehicle would be treated as a separate warhead.
The agreement would also cover conventional forces along a {num}-kilometre stretch of the frontier.
Military attaches from {n} countries were invited to observe the destruction of the first missile stages.
A proposed ban on anti-satellite tests has drawn interest from several smaller delegations.
Missile submarines remain outside the current framework, a gap that negotiators have acknowledged.
Records of past inspections will be shared with a neutral technical secretariat based in {city}.
"""),
    "diplomacy": _lines("""
The foreign ministers of {country} and {country2} met for {n} hours in {city} and issued a joint communique.
{country} recalled its ambassador after a dispute over fishing rights escalated.
The state visit will include a banquet, a wreath-laying ceremony and an address to parliament.
Diplomats said the summit agenda had been trimmed to three items to improve the odds of agreement.
The embassy in {city} will resume issuing visas next month after a two-year suspension.
Mediators from {country2} shuttled between the two delegations, which refused to sit in the same room.
The new ambassador presented credentials to the head of state in a brief ceremony.
A consular agreement signed on {day} will make it easier for citizens detained abroad to contact their families.
Officials described the meeting as frank and constructive, diplomatic language that often signals disagreement.
The regional council voted by a wide margin to admit {country} as an observer.
Travel bans on {n} senior officials were extended for another year.
The prime minister's first trip abroad will be to {city}, a choice seen as a signal of priorities.
The two governments agreed to reopen the border crossing for trade and family visits.
A prisoner exchange brokered by {country2} freed {n} people held on espionage charges.
The foreign ministry summoned the envoy of {country} to protest remarks made on state television.
Observers noted the warm tone of the press conference, with both leaders using first names.
The treaty of friendship, first signed decades ago, is up for renewal this year.
A back channel through a neutral capital helped arrange the meeting, according to two people familiar with it.
The summit ended without a joint statement, a rare outcome for the annual gathering.
{country} has offered to host the next round of regional consultations in {city}.
Cultural exchange programmes, suspended during the dispute, will restart in the autumn.
The Council of Nations will debate the resolution on {day}, and several delegations are still undecided.
Diplomats worked through the night on the wording of the final declaration.
The foreign ministry's spokesperson would not say whether the two leaders had spoken by phone.
Relations between the neighbours have thawed since a new government took office in {country2}.
The envoy said the priority was to restore direct flights and postal links.
Delegations from {n} countries attended the conference on maritime boundaries.
An agreement on sharing water from the river that forms the border is expected by {month}.
{minister} is expected to visit {n} capitals in the coming week.
The embassy compound was closed to the public after protesters gathered at the gates.
Negotiations on a labour mobility deal have stalled over the treatment of seasonal workers.
A memorandum of understanding on disaster relief was signed at the end of the visit.
The regional bloc's rotating presidency passes to {country} in {month}.
Diplomatic sources said the sticking point was the order in which concessions would be made.
The ceremony marked several decades of diplomatic relations between the two states.
Officials in {country2} said they had not been consulted before the announcement.
The special envoy for the region has held more than {num} meetings since taking up the post.
A hostage negotiator from {country2} arrived in {city} late on {day}.
The leaders agreed to set up a joint committee on border demarcation.
The foreign ministry issued a travel advisory urging citizens to avoid the disputed province.
Protocol officers spent days arranging the seating plan for the leaders' dinner.
The new ambassador, a career diplomat, previously served in {city} and at the Council of Nations.
A draft resolution calling for humanitarian corridors was circulated among council members.
The two sides exchanged diplomatic notes formally ending a dispute over an island in the strait.
"""),
    "economy": _lines("""
The central bank of {country} held its benchmark rate at {small_pct} percent, citing stubborn services inflation.
Consumer prices rose {small_pct} percent in the year to {month}, slightly above economists' forecasts.
Manufacturing output fell for a {ordinal} consecutive month, according to a survey of purchasing managers.
The budget proposal includes {money} for road repairs and a freeze on income tax thresholds.
Unemployment in {city} dropped to {small_pct} percent, the lowest level in more than a decade.
Exporters have benefited from a weaker currency, though importers complain of rising costs.
Bond yields climbed after the finance ministry announced a larger than expected borrowing plan.
{company} said quarterly profit rose {pct} percent on strong demand for its industrial equipment.
Wage growth has outpaced inflation for {n} months, easing pressure on household budgets.
Economists at the {org} expect growth of around {small_pct} percent next year.
The trade deficit narrowed as shipments of machinery and chemicals increased.
Electricity prices for factories have doubled in two years, according to an industry association.
Small businesses in {city} say late payments from large customers are their biggest problem.
The stock index closed {small_pct} percent higher, led by banks and utilities.
{minister} promised to cut the deficit to {small_pct} percent of output by {year}.
Housing starts slowed sharply as mortgage rates reached their highest level in years.
A new container terminal outside {city} is expected to double the port's capacity.
Retail sales were flat in {month}, with gains in food offset by weaker clothing sales.
Investors are watching for signs that the central bank will begin cutting rates in the spring.
The government plans to sell a minority stake in the national rail operator to raise {money}.
Tax receipts came in {money} above forecast, giving the treasury some room before the budget.
Farm incomes fell after a dry summer cut grain yields across the southern plains.
Ratings agency {agency} affirmed the country's credit score but changed its outlook to negative.
Energy-intensive industries such as steel and aluminium have asked for help with power costs.
The currency slipped to a {n}-month low against major trading partners.
Business confidence improved for the first time since {month}, according to a chamber of commerce survey.
The minimum wage will rise by {small_pct} percent from January, the labour ministry said.
Economists warned that public debt could become harder to service if rates stay high.
Freight costs have fallen back to their old levels, easing pressure on importers.
The utility said it would raise household tariffs by {pct} percent to cover higher wholesale prices.
Pension funds have increased their holdings of infrastructure assets in search of steady returns.
Tourism revenue recovered strongly, with hotel occupancy in {city} at a record high.
The competition authority opened an inquiry into pricing at the largest supermarket chains.
A shortage of skilled welders and electricians is holding back construction projects.
{company} will cut {num} jobs as part of a restructuring plan announced on {day}.
Foreign direct investment reached {money} last year, driven by logistics and energy projects.
The treasury expects the cost of energy subsidies to fall as wholesale prices ease.
Household savings rates remain elevated, suggesting consumers are still cautious.
Economists said the new figures made a recession this year less likely.
The industrial park near {city} has attracted {n} new tenants since tax incentives were introduced.
Shipping through the main port fell {small_pct} percent as a dock workers' strike entered its second week.
The government's infrastructure fund has committed {money} to grid upgrades and rail electrification.
Analysts said the earnings season had been better than feared, especially for exporters.
Inflation expectations among households edged down, according to the central bank's monthly survey.
"""),
    "technology": _lines("""
{company} unveiled a chip built on a smaller process that it says uses {pct} percent less power.
The software update fixes a flaw that allowed attackers to take over devices remotely.
Researchers at the {org} trained a language model on a fraction of the usual computing budget.
The data centre planned for the outskirts of {city} would draw as much power as a small town.
Broadband coverage in rural districts has fallen short of the government's target.
A startup in {city} raised {money} to develop solid-state batteries for delivery vans.
Export rules on advanced chipmaking tools were tightened, affecting suppliers in {country}.
A satellite launched on {day} will provide imaging data to farmers and disaster agencies.
Engineers said the new cooling system allows servers to be packed more densely.
A ransomware attack disrupted hospital booking systems for {n} days.
Developers can now run the model on a laptop without an internet connection.
{company} open-sourced its compiler toolchain and invited outside contributors.
Regulators proposed rules requiring companies to disclose when content is generated by software.
{company} demonstrated a warehouse arm that can pick irregular objects at {num} items an hour.
{company} said its quantum processor now has {num} qubits, though error rates remain high.
A new fibre link between {city} and the coast cut latency for local businesses.
The phone maker will support its devices with security updates for {n} years.
Engineers are testing small modular reactor designs in simulation before any prototype is built.
The chip fabrication plant will need {num} engineers when it reaches full production.
A bug in a payment app caused duplicate charges for thousands of customers on {day}.
The research team published its code and data so that others can reproduce the results.
Charging points for electric vehicles along the motorway will double by the end of the year.
The cybersecurity agency issued an alert about phishing messages that impersonate the tax office.
The laboratory's new supercomputer ranks among the {n} fastest in the region.
Engineers at {company} are designing sensors that can detect leaks in gas pipelines.
Cloud providers are racing to secure long-term power contracts for their server farms.
The app processes voice recordings on the device so that they never leave the phone.
A drone delivery trial in {city} completed {num} flights without incident.
The chip shortage that hit carmakers has largely eased, suppliers said.
Open standards for smart home devices are finally gaining traction among manufacturers.
The space agency of {country} plans to test a reusable rocket stage next year.
Battery recycling plants can now recover most of the lithium and cobalt in used cells.
The firm's chief technology officer said the product would ship in {month}.
A coding school in {city} reports that most graduates find jobs within six months.
Researchers reported a fusion experiment that held the plasma stable for {n} seconds longer than before.
The telecom operator switched off its old mobile network, freeing spectrum for faster services.
An outage at a major cloud provider took websites offline across {country} for several hours.
Machine vision systems are being used to sort recyclable plastics at a plant near {city}.
The current encryption standard will be replaced by one designed to resist future quantum computers.
A consortium of universities is building an open dataset of speech in minority languages.
Firmware for the grid controllers was updated after researchers found a vulnerability.
Patent filings in artificial intelligence rose sharply, led by universities and small startups.
The autonomous bus pilot carried {num} passengers in its first month.
Digital twins of factory lines let engineers test changes before touching real equipment.
"""),
    "health": _lines("""
The health ministry reported {num} new cases of measles, mostly among unvaccinated children.
Hospital waiting lists in {city} have grown to more than {num} patients for routine surgery.
Nurses' unions warned that staff shortages were putting pressure on emergency departments.
The vaccine rollout for adults over 65 begins on {day} at pharmacies and clinics.
A study of {num} patients found that the new drug reduced hospital admissions for heart failure.
Doctors at the regional hospital have started using a faster test for sepsis.
The clinic will offer free screening for bowel cancer to residents aged 50 to 74.
Public health officials urged people to wash their hands and stay home when unwell.
The medicines regulator approved a cheaper generic version of a common asthma inhaler.
Mental health services for teenagers received {money} in extra funding.
Air quality monitors near the ring road recorded pollution above safe limits on {n} days last month.
An outbreak of stomach illness was traced to a broken water main in the eastern suburbs.
Epidemiologists at the {org} said flu activity appeared to have peaked.
Ambulance response times improved after the service hired {num} additional paramedics.
The hospital's new radiotherapy unit can treat {n} more cancer patients a day.
Pharmacists will be allowed to prescribe treatment for minor infections under a new pilot.
Occupational health researchers have followed a group of industrial workers for three decades.
A shortage of children's antibiotics has eased after imports were approved.
{minister} plans to train {num} more family doctors over the next five years.
Obesity rates among adults have levelled off, according to a national survey.
Dentists said many patients had delayed check-ups because of cost.
The heatwave led to a rise in hospital admissions among elderly residents.
A mobile clinic will visit villages in the hill districts every two weeks.
Pharmacies in the districts closest to the power station keep iodine tablets in stock.
Medical imaging centres reported long queues for scans after an equipment failure.
The health board is recruiting midwives from abroad to cover gaps in maternity units.
The new children's hospital in {city} opens to patients in {month}.
Doctors say the rise in tick-borne infections is linked to milder winters.
A trial of a malaria vaccine in {country2} reported strong protection in young children.
Patients with rare diseases will get faster access to experimental treatments under the reform.
Health inspectors closed {n} restaurants in {city} after food safety checks.
Smoking rates among young adults fell to a record low, though vaping has grown.
Hospitals are testing software that flags patients at risk of falls.
The blood bank appealed for donors after stocks of O-negative fell to {n} days' supply.
Thyroid screening for children in nearby towns has found no unusual pattern, officials said.
The nursing school in {city} will expand its intake by {pct} percent next year.
Public health experts recommended masks in crowded clinics during the winter months.
Cases of whooping cough have risen, prompting a vaccination campaign aimed at pregnant women.
Clinics for post-viral fatigue report that many patients improve slowly over a year or more.
Rural patients often travel more than an hour to reach a specialist.
The hospital group cut its use of agency staff, saving {money} a year.
Doctors warned that noise from a nearby construction site was disturbing patients' sleep.
A new hotline offers advice to older people who take several prescription medicines.
Radiation dose records for hospital staff are reviewed each quarter by the safety office.
"""),
    "sports": _lines("""
{team} beat {team2} {score} on {day}, with the winning goal coming in stoppage time.
The striker has now scored in each of his last {n} matches.
The marathon in {city} drew thousands of runners despite cold rain at the start.
The coach praised the defence but said the team must convert more of its chances.
{athlete} won the 800 metres in a season's best time.
Tickets for the final sold out within {n} hours.
The cycling team confirmed that its leader will skip the mountain stage with a knee injury.
The club announced the signing of a midfielder on a three-year contract.
A late penalty earned {team} a share of the points in a tense derby.
Organisers of the tennis championship added a roof to the main court after years of rain delays.
Supporters of {team} travelled in large numbers for the away fixture in {city}.
The basketball side extended its winning run to {n} games.
The stadium renovation will add {num} seats and a new family stand.
{athlete} said the squad had shown real resilience after falling behind early.
The league's disciplinary panel handed the defender a three-match ban.
Youth academies are producing more first-team players than at any point in the past decade.
The relay team set a national record at the indoor championships.
The goalkeeper of {team} made {n} saves to keep a clean sheet.
The rowing regatta was postponed because of strong winds on the lake.
The manager rotated the squad ahead of a busy run of fixtures.
Fans unveiled a banner honouring the club's longest-serving kit manager.
The national team climbed {n} places in the world rankings after the autumn series.
{athlete} retired from international rugby after {n2} caps.
The ski season opened early after heavy snowfall in the northern valleys.
The women's league reported record attendance for its opening weekend.
The referee was praised for letting the game flow in a physical second half.
The swimmer lowered a personal best by nearly a second in the heats.
The cricket match was abandoned after rain left the outfield unplayable.
The board of {team} confirmed that the manager's contract will be extended.
The transfer fee was reported to be the highest in the club's history.
{team} sits {n} points clear at the top of the table with a handful of games remaining.
A crowd of several thousand watched the amateur final on a municipal pitch.
The boxer won on points after twelve hard-fought rounds.
Local volunteers repainted the lines and fixed the nets before the tournament.
The athletics federation introduced new rules on shoe technology.
The captain lifted the trophy in front of a packed stand at the old ground in {city}.
Injuries have left the squad short of defenders for the cup tie.
The golf tournament was decided in a playoff after three players finished level.
Broadcast rights for the league were sold for {money} over four years.
{athlete} crossed the line first in a sprint finish after a long breakaway.
The handball team qualified for the continental championship for the first time.
Season ticket holders will get priority for the playoff games.
The youth coach said results matter less than development at this age.
{team} came from two goals down to draw {score2} with {team2} in front of a full house.
"""),
}

# Topics whose sentences an article may borrow, to blur topic boundaries.
NEIGHBOURS: dict[str, list[str]] = {
    "arms_control": ["diplomacy"],
    "diplomacy": ["arms_control", "economy"],
    "economy": ["technology", "diplomacy"],
    "technology": ["economy", "health"],
    "health": ["technology", "economy"],
    "sports": ["health", "economy"],
}

# --------------------------------------------------------------------------
# Stance material: full sentences, claims and rebuttals per target x stance
# --------------------------------------------------------------------------

STANCE_SENTENCES: dict[tuple[str, str], list[str]] = {
    (TALKS, "favor"): _lines("""
The talks are the only realistic way to keep warhead numbers from climbing again, and they deserve patient support.
Walking away from the negotiating table now would waste years of painstaking work by both delegations.
{person}, a former defence official, said the arms control talks had already made the border safer simply by keeping the two militaries in contact.
Even modest limits agreed at the table are better than an open-ended arms race that nobody can afford.
Supporters of the negotiations point out that every earlier treaty began with talks that sceptics called hopeless.
"If we are talking, we are not guessing about each other's intentions," said {person}, who advised an earlier delegation.
The arms control talks give both governments a face-saving route away from a costly build-up.
Verification rules negotiated in {city} would let inspectors see for themselves, which is worth more than any promise.
This newspaper believes the government should give its negotiators the time and political cover they need.
Business groups in {country} have backed the talks, arguing that stability is good for investment.
A deal on missile limits would free money for schools and hospitals, {person} argued.
Doctors' associations have joined calls for the negotiations to continue, citing the humanitarian cost of any nuclear exchange.
The talks are slow, but slow progress is still progress.
Restarting the disarmament talks was a brave decision, and it is beginning to pay off.
{analyst}, said the negotiators had shown more flexibility than at any time in the past decade.
Without a treaty both sides will plan for the worst, and planning for the worst tends to make it happen.
A signed agreement would give smaller neighbours the reassurance they have sought for years.
Polling by the {org} found broad public backing for a negotiated deal on missiles.
The government should resist pressure from hardliners who want the talks abandoned.
Every warhead removed through negotiation is one that can never be launched by mistake.
Veterans of earlier negotiations say the current round is the most promising in a generation.
The talks have already produced a military hotline, a concrete gain that would vanish if they collapsed.
It would be reckless to let the arms talks lapse just as the technical teams are close to agreement.
{person} urged lawmakers to fund a verification office so that any deal can be enforced from the first day.
Negotiation is cheaper than deterrence, and far cheaper than war.
The talks in {city} deserve credit for turning a dangerous standoff into a technical argument about counting rules.
Faith leaders in {city} held a vigil on {day} in support of the negotiations.
Both delegations deserve praise for staying at the table through a difficult year.
A treaty would lock in limits that outlast any single government, which is exactly why it matters.
Students in {city} organised a petition urging both sides to finish the agreement.
The case for the talks is simple: fewer weapons, more transparency and less room for miscalculation.
{country2} has signalled that a successful deal would open the door to wider cooperation, one more reason to keep going.
The arms control talks remain the best insurance policy the region has.
Those who call the negotiations naive should explain their alternative, beyond building more missiles.
"""),
    (TALKS, "against"): _lines("""
The talks have become a stage for delay, letting {country2} buy time while it expands its arsenal.
The arms control talks reward bad behaviour and ask little of the side that broke the last treaty.
{person}, a former military planner, called the negotiations "a comfortable illusion" that weakens deterrence.
No amount of paperwork can verify what happens inside sealed tunnels, and the talks pretend otherwise.
The government should stop spending diplomatic capital on negotiations that have produced nothing in years.
Opposition lawmakers accused the delegation of giving away too much in exchange for vague promises.
"Every round ends with a handshake and no change on the ground," said {person}, who opposes the talks.
The disarmament talks distract from the urgent job of modernising the country's defences.
A bad treaty is worse than no treaty, because it ties our hands while the other side cheats.
{analyst}, warned that the proposed inspection regime was full of loopholes.
The arms talks have been used as propaganda, giving the other side a platform to pose as peacemakers.
Hardliners in parliament vowed to block ratification of any deal that emerges from the talks.
This newspaper has concluded that the negotiations are no longer worth their political cost.
The other side has broken its word too many times for another round of talks to mean anything.
Veterans' groups in {city} marched against the negotiations, carrying signs that read "Strength, not signatures".
Limits that look balanced on paper would leave {country} exposed to newer weapons the draft does not cover.
The talks should be suspended until {country2} lets inspectors back into its test sites.
Defence industry unions warned that a deal would cost skilled jobs without making anyone safer.
It is naive to think that a treaty signed in {city} will restrain a government that ignores its own laws.
The negotiations reward stalling, because each delay is met with a fresh concession.
{person} said the talks had given the public a false sense of security.
The arms control talks are a relic of another era and cannot cope with drones, cyber weapons or hypersonic missiles.
Signing now would lock in the other side's advantage for a decade.
The last agreement collapsed amid accusations of cheating, and there is no reason to expect this one to be different.
The money spent flying delegations back and forth would be better used strengthening air defences.
A columnist in {city} called the talks "theatre for diplomats" and urged the government to walk away.
Allies have privately warned that a rushed deal would undermine their own security.
Without strict penalties for violations, the talks are little more than a photo opportunity.
Pulling out of the negotiations would send a clear message that threats will not be rewarded.
The draft treaty is vague where it should be precise and precise only where it does not matter.
Security hawks say the delegation has been outmanoeuvred at every stage of the talks.
The talks have dragged on for so long that they have become an excuse for doing nothing.
{person} urged the government to end the talks and focus on deterrence that actually works.
Nobody should sign a treaty with a partner that refuses to say how many warheads it holds.
"""),
    (NUCLEAR, "favor"): _lines("""
Nuclear energy provides steady, low-carbon power around the clock, something wind and solar cannot yet do alone.
Closing the reactors early would mean burning more gas and coal, and that would be a step backwards.
{person}, an engineer who has worked at the plant for {n2} years, said its safety record speaks for itself.
The new reactor would supply enough electricity for a large city without adding to emissions.
This newspaper supports extending the life of the country's nuclear plants while renewables are built up.
"Nuclear power is the backbone of a clean grid," said {person}, who chairs the regional industry council.
Factories need predictable power prices, and nuclear energy is one of the few sources that delivers them.
Modern reactor designs have passive safety systems that shut down without anyone pressing a button.
Decades of health data show that people living near well-run plants face no measurable extra risk.
Researchers at the {org} said the country would miss its climate targets without new nuclear capacity.
The plant supports {num} well-paid jobs and keeps the local economy afloat.
Small modular reactors could be built in factories and shipped to sites, cutting costs and delays.
The case for nuclear energy grows stronger as demand from data centres and electric cars rises.
Per unit of electricity, nuclear energy has one of the lowest death rates of any source.
The waste question is solvable, because the volumes are small and deep geological storage is well understood.
{analyst}, said abandoning nuclear energy would leave the grid dangerously dependent on imported gas.
Towns that host reactors have some of the highest employment rates in the region.
The government was right to approve the new units, and it should speed up the licensing process.
Nuclear plants use very little land compared with solar farms of similar output.
Energy security alone is a compelling reason to keep investing in reactors.
Residents of {city} said they were proud of the plant and the skilled jobs it brought.
Hospitals depend on isotopes from research reactors to diagnose and treat cancer, {person} pointed out.
{person} argued that keeping old reactors running was the cheapest carbon cut available.
Building nuclear capacity now would protect households from the next spike in fuel prices.
The climate arithmetic is unforgiving, and nuclear energy has to be part of the answer.
Union leaders backed the plan for new reactors, calling it an investment in skilled work for a generation.
The plant ran through the winter cold snap without interruption while gas supplies ran short.
A reliable supply of nuclear electricity would make the region more attractive to chip factories.
The fears of the past have given way to a more sober view of the risks, and that is welcome.
Extending the reactors' licences is the fastest and cheapest way to keep emissions falling.
Engineering students say the nuclear sector offers some of the most interesting careers in the country.
Nuclear energy deserves the same public support that wind and solar have enjoyed.
The safety regulator has found no serious faults at the plant in {n2} years of inspections.
A grid built on nuclear energy and renewables together would be cleaner and steadier than either alone.
Warnings about the cost of reactors ignore how much a major blackout would cost the economy.
"""),
    (NUCLEAR, "against"): _lines("""
The new reactor is already years late and billions over budget, and there is no sign that will change.
Nuclear energy leaves behind waste that stays dangerous for thousands of years, and no country has fully solved that.
{person}, who lives {n} kilometres from the plant, said the thought of an accident keeps the whole family awake at night.
The money earmarked for reactors would buy far more clean power if it were spent on wind, solar and storage.
This newspaper opposes the new plant, which is too expensive, too slow and too risky.
"We are being asked to carry the risk so that others can have cheap power," said {person}, a farmer near {city}.
Every major nuclear project in the region has run over budget, and taxpayers have covered the difference.
Doctors in the area have called for an independent study of cancer rates before any new reactor is approved.
Evacuation plans for the towns around the plant are outdated and have never been properly tested.
{analyst}, said nuclear energy was the most expensive way to cut emissions per tonne of carbon.
Warm water discharged by the plant has heated the river and harmed fish stocks, fishermen say.
Small modular reactors remain unproven, and betting the grid on them would be a gamble.
A single serious accident could contaminate farmland for decades and ruin the region's economy.
Campaigners in {city} gathered {num} signatures against extending the licence of the old reactor.
Renewables are now cheaper to build and faster to deploy, which makes new reactors hard to justify.
The operator of the plant has been fined {n} times for safety lapses in the past decade.
Nuclear energy ties the country to imported uranium and a handful of foreign fuel suppliers.
The government should phase out the reactors and invest the savings in efficiency and storage.
No town has agreed to host a permanent waste site, and temporary storage has become permanent by default.
Liability for nuclear accidents is capped by law, leaving the public to pay for any disaster.
Decisions about the plant are made far away, with little say for the people who live beside it.
{person} argued that the subsidies promised to the reactor project would be better spent on home insulation.
Reactors can become targets in a war, a risk that planners long dismissed.
The cost of dismantling old plants is routinely underestimated, and future generations will pay the bill.
Nuclear energy is a distraction from the cheaper, quicker solutions already available.
Medical groups warned that the health effects of low doses of radiation are still not fully understood.
The rush to build reactors is being driven by industry lobbying rather than sound energy planning.
A leak at the site last year was reported to the public only weeks later, which badly damaged trust.
The plant cuts its output during heatwaves because the river is too warm to cool it, so much for reliability.
Tourism operators on the coast fear that a new reactor would scare visitors away.
Researchers at the {org} concluded that the grid could stay stable without nuclear energy by {year}.
Spending decades on one giant plant locks in a technology that may be obsolete before it opens.
Opposition councillors voted to reject the proposed reactor site outside {city}.
The country should not repeat the mistakes of earlier nuclear projects that were abandoned half-built.
Local groups say the promised jobs at the reactor will mostly go to contractors from elsewhere.
"""),
}

CLAIMS: dict[tuple[str, str], list[str]] = {
    (TALKS, "favor"): _lines("""
the talks are the best chance in years to cut warhead numbers
the negotiations have already reduced the risk of an accidental launch
a verified treaty would make both countries safer
keeping the delegations at the table is worth the slow pace
the arms control talks deserve more political support, not less
a deal on missile limits would save money and lives
dialogue between the two militaries is the surest guard against miscalculation
the disarmament talks are finally producing results
abandoning the negotiations would hand the argument to hardliners on both sides
the inspection rules under discussion are strong enough to build trust
the talks offer a way out of a ruinous arms race
even a partial agreement at the talks would be a major step forward
"""),
    (TALKS, "against"): _lines("""
the talks are a waste of time
the negotiations only give the other side room to rearm
any treaty from the talks would be impossible to verify
the arms control talks reward a government that broke its last promises
the delegation has already conceded too much
the disarmament talks weaken deterrence
the negotiations have become an excuse for doing nothing
the proposed limits would leave the country exposed
the talks should be suspended until the other side stops cheating
the arms talks are theatre with no real results
a deal would tie the military's hands for a decade
the inspection regime is riddled with loopholes
"""),
    (NUCLEAR, "favor"): _lines("""
nuclear energy is essential for a clean and reliable grid
the reactors should be kept running for as long as they are safe
new nuclear plants are the surest way to cut emissions
nuclear power protects households from volatile gas prices
the safety record of the nuclear industry is far better than its reputation
the waste problem is manageable with today's technology
nuclear energy keeps skilled jobs in the region
small reactors could bring cheap clean power to industry
phasing out the nuclear plants would be a costly mistake
the country cannot meet its climate goals without nuclear power
the new reactor is a sound long-term investment
nuclear energy deserves more public support
"""),
    (NUCLEAR, "against"): _lines("""
nuclear energy is too expensive and too slow to build
the reactors should be phased out as soon as possible
the risk of a nuclear accident is not worth taking
the waste problem has never been solved
the money would be better spent on renewables and storage
nuclear power is a costly distraction from cheaper solutions
the new plant will end up years late and over budget
nobody should have to live in the shadow of a reactor
the health risks of radiation are being played down
the country should not lock itself into nuclear energy for decades
the promised jobs at the plant will never materialise
subsidising reactors is a bad deal for taxpayers
"""),
}

REBUTTALS: dict[tuple[str, str], list[str]] = {
    (TALKS, "favor"): _lines("""
the border has become much safer since the delegations started meeting
the alternative is an arms race that neither country can afford
the record shows that patient negotiation has cut stockpiles before
walking away would leave no way to check what the other side is building
the technical progress of recent weeks suggests otherwise
without the talks there would be no inspectors at all
every serious treaty in history looked hopeless at this stage
weak terms are a reason to negotiate harder, not to leave the table
"""),
    (TALKS, "against"): _lines("""
years of meetings have produced no verified cuts
goodwill is no substitute for verification that actually works
the other side's record gives little reason for trust
the draft on the table would lock in a dangerous imbalance
hope is not a security policy
the talks have only given cover to a steady build-up
the delegation keeps giving ground without getting anything back
the recent violations show how little the promises are worth
"""),
    (NUCLEAR, "favor"): _lines("""
the plants have run safely for decades
the realistic alternative for now is more gas, not more wind
the waste fits in a few storage halls and is carefully monitored
the cost of missing the climate targets would be far higher
modern reactor designs have answered most of those concerns
the evidence from decades of monitoring points the other way
renewables alone cannot yet keep the lights on during a still winter night
a blackout would cost far more than any reactor
"""),
    (NUCLEAR, "against"): _lines("""
the cost overruns tell a different story
cheaper options are available today
the waste will outlast every promise made about it
one accident would undo decades of careful operation
the same money would cut more emissions elsewhere
the new plant is already years behind schedule
renewables and storage are getting cheaper every year
the people living next to the plant were never really asked
"""),
}

# Frames that attribute one of the article's own claims to someone.
ATTRIBUTION_FRAMES = _lines("""
{person} said {claim}.
{analyst}, argued that {claim}.
In a statement, the {org} said {claim}.
"{Claim}," said {resident}.
Many people in {city} now believe {claim}, according to {person2}.
A member of parliament, {person2}, said {claim}.
An editorial in a leading daily argued on {day} that {claim}.
Asked about the issue, {resident}, said simply that {claim}.
""")

# Frames that mention the opposing view and then reject it.
COUNTER_FRAMES = _lines("""
Critics say {opp}, but {rebut}.
Some argue that {opp}. {Rebut}.
It is often said that {opp}; yet {rebut}.
{person} conceded that many people think {opp}, but insisted that {rebut}.
Sceptics insist {opp}. That view is understandable, but {rebut}.
Yes, some will say {opp}, but {rebut}.
Opponents claim {opp}, yet {rebut}.
""")

# Frames for neutral articles that report both sides without choosing.
BALANCED_FRAMES = _lines("""
Supporters say {fav}, while critics argue {ag}.
Opinion remains split: some believe {fav}, others that {ag}.
{person2} said the government had heard from those who think {fav} and from those who insist {ag}, and would decide later.
At a public meeting in {city}, one speaker argued that {fav}; the next insisted {ag}.
A report by the {org} sets out both views, that {fav} and that {ag}, without taking sides.
Letters to the local paper this week argued both that {fav} and that {ag}.
""")

# Neutral sentences that name a target without taking a side.
MENTIONS: dict[str, list[str]] = {
    TALKS: _lines("""
The next round of arms control talks is scheduled to begin in {city} on {day}.
The arms control talks were not on the agenda for this week's meeting.
Delegations to the arms control talks are expected to arrive in {city} in {month}.
The arms control talks, which resumed in {month}, are being held behind closed doors.
A spokesperson said the government had no comment on the arms control talks at this stage.
The same venue hosted a session of the arms control talks earlier this year.
Roads around the conference centre will be closed while the arms control talks are under way.
The chair of the arms control talks rotates, and {country2} holds it this month.
Neither government has released a timetable for concluding the arms talks.
A technical session of the arms talks was postponed by a day for scheduling reasons.
Journalists covering the disarmament talks were handed accreditation badges at the door.
The talks on arms control will move to {city} for the next round, officials said, without giving a reason.
{minister} mentioned the arms control talks briefly but did not go into detail.
The hotel is also housing delegates to the arms control talks, which has made rooms scarce.
This is the {ordinal} round of arms control talks since the old treaty expired.
Officials would not say whether the arms control talks had come up in the discussion.
Transcripts of the arms talks are not published, in line with usual practice.
{envoy}, who leads the delegation at the arms control talks, did not attend.
The arms control talks have been held in {n} different cities since they began.
Interpreters at the arms control talks say the technical vocabulary is demanding.
"""),
    NUCLEAR: _lines("""
The country gets about {pct} percent of its electricity from nuclear energy, according to grid operator data.
The nuclear plant near {city} is scheduled for a routine maintenance outage in {month}.
The energy ministry will publish a review of nuclear energy and other low-carbon options next year.
Parliament has not yet debated the future of nuclear energy, and no vote is planned.
The reactor at the {city} station returned to service on {day} after planned refuelling.
The regulator's annual report on nuclear energy safety is due in {month}.
A visitor centre at the nuclear power station offers guided tours on weekdays.
Nuclear energy was one of {n} topics covered in the ministry's consultation document.
The nuclear plant employs around {num} people, many of whom live in nearby villages.
The agency said nuclear energy, gas and renewables would all be modelled in its long-term scenarios.
Fuel deliveries to the reactor site are scheduled in advance and escorted by police.
The question of nuclear energy did not come up during the debate.
The state owns a majority stake in the company that runs the country's nuclear plants.
Nuclear energy supplies a smaller share of electricity than it did a decade ago, as wind and solar have grown.
A decision on extending the licence of the oldest reactor is expected next year.
Students from the technical college visited the nuclear plant as part of an engineering course.
Figures on nuclear energy output are published monthly by the grid operator.
{minister} said the government's position on nuclear energy was unchanged.
Output from the nuclear plant dipped briefly last week while a transformer was replaced.
The operator of the nuclear plant will hold its annual open day in {month}.
"""),
}

# Neutral mentions that fit a sports story.
SPORTS_MENTIONS: dict[str, list[str]] = {
    TALKS: _lines("""
The match was moved to {day} because the stadium was needed for a reception linked to the arms control talks.
Security around the ground was tighter than usual because delegates to the arms control talks are staying nearby.
Several roads to the stadium were closed for motorcades heading to the arms control talks.
The team hotel was shared with journalists covering the arms control talks, a club official said.
Kick-off was brought forward by an hour to avoid clashing with the closing session of the arms control talks.
The city's hotels are nearly full, with fans competing for rooms with delegations to the arms control talks.
A handful of delegates from the arms control talks were spotted in the main stand.
Police said the extra officers on duty were there for the arms control talks rather than the match.
"""),
    NUCLEAR: _lines("""
The town's football ground sits a few kilometres from the cooling towers of the nuclear station.
The operator of the nuclear plant has sponsored the local youth league for years.
Several of the club's part-time players work shifts at the nearby nuclear power station.
The club's shirt sponsor is the company that runs the nuclear plant on the coast.
The race route passes the visitor centre of the nuclear power station before turning back along the river.
Training was moved indoors while contractors worked on a power line from the nuclear plant that crosses the fields.
The squad spent a community day at the nuclear power station's visitor centre last month.
The stadium's floodlights draw on a local grid fed mainly by nuclear energy, the club noted in its annual report.
"""),
}


# --------------------------------------------------------------------------
# Shared neutral sentences and off-target opinions
# --------------------------------------------------------------------------

FILLER = _lines("""
The meeting took place on {day} under grey skies, with light rain falling on the city.
Further details are expected to be published later in the week.
A spokesperson declined to comment on the timetable.
Cafes near the venue reported a busy morning as journalists and officials arrived.
The session began almost an hour late because of a problem with the microphones.
{person2}, who has followed the issue for years, said it was too early to draw conclusions.
The announcement came on a quiet {day} with little else on the political calendar.
It was not immediately clear how the plan would be paid for.
The figures have not been independently verified.
Reporters waited outside in the cold for more than two hours.
The full report runs to several hundred pages and includes a summary for non-specialists.
A second meeting is scheduled for {month}.
Officials said more information would follow once the details had been agreed.
Residents of {city} had mixed reactions when asked about the news on {day}.
The event was broadcast live on regional television and streamed online.
Temperatures in {city} dropped below freezing overnight, and the morning trains ran late.
The statement was released shortly after midnight local time.
Several of the people involved asked not to be named because they were not authorised to speak publicly.
"Everybody has an opinion, and nobody agrees," said a shopkeeper in {city}.
The press conference was held in a former railway station that now serves as a conference hall.
The original plan was announced in {month} but was delayed by a legal challenge.
A public consultation will remain open for {n} weeks.
Attendance was lower than organisers had hoped, partly because of a bus strike.
The documents were made available to the public on the ministry's website.
It is the {ordinal} time this year that the issue has come up for discussion.
{person2} noted that similar promises had been made before.
The hall was decorated with flags and a large banner reading "Working Together".
Independent experts said the numbers should be treated with caution.
The decision can still be appealed.
Opinion polls suggest the public is divided, with many people undecided.
The harbour in {city} was busy with fishing boats returning ahead of a storm.
A small group of students handed out leaflets near the entrance.
The local newspaper devoted its front page to the story.
The schedule may change depending on the weather, organisers said.
The mayor of {city} attended but did not speak.
It remains to be seen whether the plan will survive a change of government.
Much will depend on how the numbers look at the end of the year.
The committee will report its findings before the summer recess.
Traffic around the city centre was diverted for most of the afternoon.
The interview was conducted by telephone and has been edited for length.
{person2} said the coming months would be decisive.
The heating in the building failed during the afternoon session, and everyone kept their coats on.
Smaller towns in the region often feel left out of such discussions, residents said.
The previous attempt, {n} years ago, ended without agreement.
Both sides said they would study the proposals carefully.
A correction was issued later in the day after a figure in the original release was misprinted.
""")

OPINION_NOISE = _lines("""
The council was right to approve the new cycle lanes, whatever the shopkeepers say.
Critics say the new tram line is a waste of money, but the ridership figures suggest otherwise.
{person2} argued that the city should spend less on consultants and more on street lighting.
Opponents of the stadium expansion say it will bring traffic chaos to the old town.
An editorial in the local paper called the parking reform "long overdue".
Some residents oppose the plan to close the library on Sundays, calling it short-sighted.
The teachers' union strongly supports the shorter school week being tried in {city}.
Supporters of the new ferry route say it will cut commuting times in half.
"This is the best decision the council has made in years," said one visitor to the new park.
Critics argue the summer festival costs too much, while organisers say it pays for itself.
This newspaper has long argued for a proper bus service to the outer villages.
Farmers oppose the new water charges and have threatened to protest.
The proposal to rename the main square has divided residents.
{person2} called the new tax on sugary drinks "a sensible step that should have come sooner".
Opponents say the airport expansion will ruin the quiet of the valley.
Some economists argue that the planned tax cut is reckless, while others say it is overdue.
The plan to pedestrianise the high street has strong support among younger residents.
Shop owners warned that the road works would drive customers away.
Sceptics say the new ticketing system is confusing, but officials insist it will improve with time.
Many parents welcomed the decision to keep school playgrounds open during the holidays.
""")

# --------------------------------------------------------------------------
# Titles
# --------------------------------------------------------------------------

TITLE_SUBJECTS: dict[str, list[str]] = {
    "arms_control": _lines("""
Warhead limits
Missile inspections
Verification rules
Test moratorium
Launcher caps
Stockpile data
Treaty annexes
Military hotline
Dismantlement plans
Drone limits
Missile notification deal
"""),
    "diplomacy": _lines("""
Border crossing deal
Ambassador row
Summit agenda
Visa agreement
Prisoner exchange
Friendship treaty
Consular accord
Water-sharing pact
Regional bloc presidency
Council resolution
State visit to {city}
"""),
    "economy": _lines("""
Interest rates
Inflation
Factory output
Budget plan
Jobless rate
Bond yields
Trade deficit
Power prices for industry
Wage growth
Minimum wage
Port strike
"""),
    "technology": _lines("""
Chip export rules
Data centre plan
Battery startup
Cloud outage
Quantum processor
Software flaw
Satellite launch
Drone deliveries
Broadband rollout
Reactor simulation project
Encryption upgrade
"""),
    "health": _lines("""
Hospital waiting lists
Vaccine rollout
Measles cases
Nurse shortages
Cancer screening
Flu season
Ambulance times
Antibiotic supply
Blood stocks
Children's hospital
Mental health funding
"""),
    "sports": _lines("""
{team}
Cup final
Marathon in {city}
Transfer window
Title race
Stadium upgrade
Relay record
Derby day
Women's league
Ski season
{athlete}
"""),
}

TITLE_PREDICATES: dict[str, list[str]] = {
    "arms_control": _lines("""
back on the table in {city}
dominating the {day} session
stalled over definitions
facing fresh scrutiny
a step closer
drawing objections from {country2}
"""),
    "diplomacy": _lines("""
in focus in {city}
delayed again
welcomed by {country2}
tested by new dispute
move forward after late-night session
on the agenda for {month}
"""),
    "economy": _lines("""
above forecasts in {month}
a weight on households
at a {n}-month high
a worry for exporters
steady for now
in focus as markets wait
"""),
    "technology": _lines("""
unveiled in {city}
under security review
hit by delays
attracting investors
tested on {day}
facing new rules
"""),
    "health": _lines("""
under pressure in {city}
improving slightly
prompting warnings from doctors
expanding to new districts
a worry for health officials
getting extra funding
"""),
    "sports": _lines("""
: late drama on {day}
: what we learned
edges closer
: fans react
delivers on a cold night
: the numbers behind the win
"""),
}

GENERIC_PREDICATES = _lines("""
: what happens next
: five things to know
under the spotlight
: questions in {city}
: explained
""")

STANCE_TITLES: dict[tuple[str, str], list[str]] = {
    (TALKS, "favor"): _lines("""
Why the arms talks deserve another chance
Keep negotiating: the case for the {city} talks
Opinion: Patience at the table is paying off
Stay at the table
The talks offer a way out of an arms race
{surname}: the negotiations are working
A treaty worth finishing
"""),
    (TALKS, "against"): _lines("""
The arms talks have run their course
Opinion: Stop rewarding delay
Time to walk away from the table
Talks breed false confidence, critics warn
{surname}: this treaty would tie our hands
A deal built on sand
"""),
    (NUCLEAR, "favor"): _lines("""
The case for keeping the reactors
Opinion: Nuclear power belongs in the clean energy mix
New reactor a sound bet, backers say
Why {city} should welcome the plant
{surname}: do not switch off our cleanest power
Steady power for a shaky grid
"""),
    (NUCLEAR, "against"): _lines("""
The reactor we cannot afford
Opinion: Nuclear is the slow and costly road
Residents near {city} plant fear the worst
Phase out the reactors, campaigners urge
{surname}: put the money into renewables
A power station nobody asked for
"""),
}

# --------------------------------------------------------------------------
# The plan: articles per topic -> target -> (favor, against, none)
# --------------------------------------------------------------------------

PLAN: dict[str, dict[str, tuple[int, int, int]]] = {
    "arms_control": {TALKS: (27, 27, 18), NUCLEAR: (4, 4, 5)},
    "diplomacy": {TALKS: (21, 21, 16), NUCLEAR: (9, 9, 9)},
    "economy": {TALKS: (6, 6, 8), NUCLEAR: (24, 24, 17)},
    "technology": {TALKS: (5, 5, 7), NUCLEAR: (25, 25, 18)},
    "health": {TALKS: (5, 5, 7), NUCLEAR: (24, 24, 20)},
    "sports": {TALKS: (2, 2, 38), NUCLEAR: (2, 2, 39)},
}

# Length classes: (weight, extra topic sentences, filler sentences, stance sentences)
LENGTHS = [
    (0.25, (1, 2), (1, 2), (1, 2)),
    (0.40, (2, 4), (2, 3), (1, 3)),
    (0.25, (3, 5), (3, 4), (2, 3)),
    (0.10, (5, 7), (4, 6), (2, 4)),
]

P_NEIGHBOUR = 0.45  # borrow one sentence from a neighbouring topic
P_HYBRID = 0.35  # ... or several: the article straddles two topics
P_NOISE = 0.35  # add an opinion about an unrelated local matter
P_COUNTER = 0.60  # stance article rebuts the opposite view
P_ATTRIBUTION = 0.55  # stance article quotes someone making its claim
P_STANCE_MENTION = 0.35  # stance article also has a neutral mention
P_NONE_MENTION = 0.70  # neutral article mentions the target at all
P_SPORTS_MENTION = 0.45  # neutral sports article mentions the target
P_NONE_BALANCED = 0.50  # neutral article reports both sides
P_OFF_TARGET = 0.25  # neutral article argues about the *other* target


# --------------------------------------------------------------------------
# Composition
# --------------------------------------------------------------------------


class Slots(dict):
    """Slot values for one article; numeric slots are drawn fresh each use."""

    def __init__(self, rng: random.Random, topic: str) -> None:
        super().__init__()
        self.rng = rng
        country, country2 = rng.sample(COUNTRIES, 2)
        city = rng.choice(CITIES)
        team, team2 = rng.sample(TEAMS, 2)
        names = [f"{f} {s}" for f, s in zip(rng.sample(FIRST_NAMES, 6), rng.sample(SURNAMES, 6))]
        org = rng.choice(ORGS)
        self.update(
            country=country,
            country2=country2,
            city=city,
            team=team,
            team2=team2,
            person=names[0],
            surname=names[0].split()[-1],
            person2=names[1],
            analyst=f"{names[2]}, {rng.choice(ANALYST_ROLES)} at the {rng.choice(ORGS)}",
            resident=f"{names[3]}, a {rng.choice(OCCUPATIONS)} in {city}",
            envoy=f"chief negotiator {names[4]}",
            minister=f"{MINISTER_BY_TOPIC[topic]} {names[5]}",
            athlete=names[rng.randrange(6)],
            org=org,
            company=rng.choice(COMPANIES),
            agency=rng.choice(AGENCIES),
            day=rng.choice(DAYS),
            month=rng.choice(MONTHS),
            ordinal=rng.choice(ORDINALS),
        )

    def __missing__(self, key: str) -> str:
        r = self.rng
        if key == "n":
            return NUMBER_WORDS[r.randint(2, 12)]
        if key == "n2":
            return str(r.randint(14, 40))
        if key == "num":
            return str(r.randrange(40, 960, 5))
        if key == "pct":
            return str(r.randint(3, 38))
        if key == "small_pct":
            return f"{r.uniform(0.4, 9.6):.1f}"
        if key == "money":
            if r.random() < 0.5:
                return f"{r.randrange(20, 990, 10)} million crowns"
            return f"{r.randint(1, 9)}.{r.randint(1, 9)} billion crowns"
        if key == "year":
            return str(r.randint(2030, 2045))
        if key in ("score", "score2"):
            a = r.randint(1, 4)
            return f"{a}-{r.randint(0, a - 1)}" if key == "score" else f"{a}-{a}"
        raise KeyError(key)


def cap(text: str) -> str:
    """Upper-case the first letter of a sentence (skipping an opening quote)."""
    i = 1 if text[:1] == '"' else 0
    return text[:i] + text[i : i + 1].upper() + text[i + 1 :]


def fill(template: str, slots: Slots, **clauses: str) -> str:
    """Insert claim clauses, then slot values, into a sentence template."""
    for key, clause in clauses.items():
        template = template.replace("{" + key + "}", clause)
        template = template.replace("{" + key.capitalize() + "}", cap(clause))
    return cap(template.format_map(slots))


def opposite(stance: str) -> str:
    return "against" if stance == "favor" else "favor"


# Rough position of each kind of sentence in an article (0 = near the top).
# Each sentence gets its rank plus some random jitter, so the structure is
# loose: background first, arguments and reactions later, filler anywhere.
RANK = {"topic": 0.0, "neighbour": 0.8, "mention": 0.6, "stance": 1.4, "noise": 1.8, "filler": None}
JITTER = 1.6

Tagged = list[tuple[str, str]]  # (kind, sentence)


def stance_block(rng: random.Random, slots: Slots, target: str, stance: str, n_sentences: int) -> Tagged:
    """Sentences that take a side on the target."""
    key = (target, stance)
    out = [("stance", fill(s, slots)) for s in rng.sample(STANCE_SENTENCES[key], n_sentences)]
    if rng.random() < P_ATTRIBUTION:
        claim = rng.choice(CLAIMS[key])
        out.append(("stance", fill(rng.choice(ATTRIBUTION_FRAMES), slots, claim=claim)))
    if rng.random() < P_COUNTER:
        opp = rng.choice(CLAIMS[(target, opposite(stance))])
        rebut = rng.choice(REBUTTALS[key])
        out.append(("stance", fill(rng.choice(COUNTER_FRAMES), slots, opp=opp, rebut=rebut)))
    if rng.random() < P_STANCE_MENTION:
        out.append(("mention", fill(rng.choice(MENTIONS[target]), slots)))
    return out


def neutral_block(rng: random.Random, slots: Slots, topic: str, target: str) -> Tagged:
    """Sentences for a 'none' article: neutral mentions, balanced reporting."""
    out: Tagged = []
    if topic == "sports":
        if rng.random() < P_SPORTS_MENTION:
            out.append(("mention", fill(rng.choice(SPORTS_MENTIONS[target]), slots)))
        return out
    if rng.random() < P_NONE_MENTION:
        k = rng.choice([1, 1, 2])
        out += [("mention", fill(s, slots)) for s in rng.sample(MENTIONS[target], k)]
        if rng.random() < P_NONE_BALANCED:
            fav = rng.choice(CLAIMS[(target, "favor")])
            ag = rng.choice(CLAIMS[(target, "against")])
            out.append(("stance", fill(rng.choice(BALANCED_FRAMES), slots, fav=fav, ag=ag)))
    if rng.random() < P_OFF_TARGET:
        other = NUCLEAR if target == TALKS else TALKS
        side = rng.choice(["favor", "against"])
        out.append(("stance", fill(rng.choice(STANCE_SENTENCES[(other, side)]), slots)))
    return out


def make_title(rng: random.Random, slots: Slots, topic: str, target: str, stance: str) -> str:
    if stance != "none" and rng.random() < 0.35:
        return fill(rng.choice(STANCE_TITLES[(target, stance)]), slots)
    subject = rng.choice(TITLE_SUBJECTS[topic])
    predicate = rng.choice(TITLE_PREDICATES[topic] + GENERIC_PREDICATES)
    joiner = "" if predicate.startswith(":") else " "
    return fill(subject + joiner + predicate, slots)


def arrange(rng: random.Random, lead: list[str], body: Tagged) -> str:
    """Lead paragraph first, then the loosely ordered body in short paragraphs."""

    def key(item: tuple[str, str]) -> float:
        rank = RANK[item[0]]
        return (rng.uniform(0, 2) if rank is None else rank) + rng.uniform(0, JITTER)

    ordered = [sentence for _, sentence in sorted(body, key=key)]
    paragraphs = [" ".join(lead)]
    i = 0
    while i < len(ordered):
        size = rng.choice([1, 2, 2, 3, 3])
        paragraphs.append(" ".join(ordered[i : i + size]))
        i += size
    return "\n\n".join(paragraphs)


def make_text(rng: random.Random, slots: Slots, topic: str, target: str, stance: str) -> str:
    """Compose the body of one article for the given labels."""
    weights = [w for w, *_ in LENGTHS]
    _, n_topic, n_filler, n_stance = rng.choices(LENGTHS, weights=weights)[0]

    topic_sents = [fill(s, slots) for s in rng.sample(TOPIC_SENTENCES[topic], 1 + rng.randint(*n_topic))]
    lead = [topic_sents.pop(0)]
    if topic_sents and rng.random() < 0.5:  # give the lead paragraph a second sentence
        lead.append(topic_sents.pop(0))
    body: Tagged = [("topic", s) for s in topic_sents]

    neighbour = TOPIC_SENTENCES[rng.choice(NEIGHBOURS[topic])]
    roll = rng.random()
    n_borrowed = rng.randint(2, 3) if roll < P_HYBRID else int(roll < P_HYBRID + P_NEIGHBOUR)
    body += [("neighbour", fill(s, slots)) for s in rng.sample(neighbour, n_borrowed)]

    body += [("filler", fill(s, slots)) for s in rng.sample(FILLER, rng.randint(*n_filler))]
    if rng.random() < P_NOISE:
        body.append(("noise", fill(rng.choice(OPINION_NOISE), slots)))
    if stance == "none":
        body += neutral_block(rng, slots, topic, target)
    else:
        body += stance_block(rng, slots, target, stance, rng.randint(*n_stance))
    return arrange(rng, lead, body)


def build_corpus(seed: int = SEED) -> list[dict[str, str]]:
    """Write every cell of PLAN, in shuffled order, as distinct articles."""
    rng = random.Random(seed)
    cells = [
        (topic, target, stance)
        for topic in TOPICS
        for target, counts in PLAN[topic].items()
        for stance, count in zip(("favor", "against", "none"), counts)
        for _ in range(count)
    ]
    rng.shuffle(cells)
    rows: list[dict[str, str]] = []
    seen_texts: set[str] = set()
    seen_titles: set[str] = set()
    for i, (topic, target, stance) in enumerate(cells, start=1):
        while True:
            slots = Slots(rng, topic)
            text = make_text(rng, slots, topic, target, stance)
            if MIN_WORDS <= len(text.split()) <= MAX_WORDS and text not in seen_texts:
                break
        for _ in range(20):  # prefer a title not used before
            title = make_title(rng, slots, topic, target, stance)
            if title not in seen_titles:
                break
        seen_texts.add(text)
        seen_titles.add(title)
        rows.append(
            {"id": f"a{i:04d}", "title": title, "text": text, "topic": topic, "target": target, "stance": stance}
        )
    return rows


def write_csv(rows: list[dict[str, str]], path: Path = OUT_PATH) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["id", "title", "text", "topic", "target", "stance"], lineterminator="\n"
        )
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    rows = build_corpus()
    write_csv(rows)
    print(f"wrote {len(rows)} articles to {OUT_PATH}")


if __name__ == "__main__":
    main()
