"""Cleaning: normalised text, datelines, bylines, widgets, sign-offs and punctuation lost to a bad encoding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from index.clean import (drop_read_more, drop_widget_text, normalize_text, repair_lost_punctuation, split_byline,
                         split_dateline, split_sign_off)
from index.embedding import HashEmbedder
from index.indexer import IndexConfig, NewsIndex
from index.readers import read_path


def test_normalize_text() -> None:
    raw = "\ufeffCafe\u0301\u00a0 ist\tgut.\r\n\r\n\r\n\r\nZweiter\x07 Absatz.  \n"
    assert normalize_text(raw) == "Café ist gut.\n\nZweiter Absatz."
    assert normalize_text("  \n \n") == ""


@pytest.mark.parametrize(("text", "place", "agency", "rest"), [
    ("Washington (CNN)Vice President Mike Pence cast a historic tie-breaking vote.", "Washington", "CNN",
     "Vice President Mike Pence"),
    ("WASHINGTON (Reuters) - President Donald Trump is proposing to shift oversight.", "WASHINGTON", "Reuters",
     "President Donald Trump"),
    ("SEOUL, Feb 9 (Reuters) - Samsung Group chief Jay Y. Lee was arrested on Friday.", "SEOUL", "Reuters", "Samsung"),
    ("MOSCOW, February 7. /TASS/. Russian citizen Alexander Lapshin was extradited.", "MOSCOW", "TASS", "Russian citizen"),
    ("INCHEON /Republic of Korea/, February 9. /TASS/. A traditional festival opened.", "INCHEON", "TASS", "A traditional"),
    ("LONDON — The prime minister said on Monday that talks would resume soon.", "LONDON", "", "The prime minister"),
    ('WASHINGTON "?Hundreds of state and national medical groups wrote to him.', "WASHINGTON", "", "Hundreds"),
    ("Islamabad, Pakistan --Pakistan's government has extended a deadline for them.", "Islamabad, Pakistan", "",
     "Pakistan's government"),
    ("BADEN-BADEN, Germany, March 18 (Reuters) - Financial leaders of the G20 met.", "BADEN-BADEN, Germany",
     "Reuters", "Financial leaders"),
])
def test_dateline_is_split_from_the_text(text: str, place: str, agency: str, rest: str) -> None:
    dateline = split_dateline(text)
    assert dateline is not None and (dateline.place, dateline.agency) == (place, agency)
    assert text[dateline.length :].startswith(rest)


@pytest.mark.parametrize("text", [
    "Rep. Sean Duffy (R-Wis.) vehemently defended President Donald Trump on Monday.",
    "Paris, the capital of France, hosted the summit on Monday with leaders.",
    "US President Donald Trump has accused the media of under-reporting terror attacks.",
    "FBI - the bureau - said on Monday that it had opened an inquiry into the case.",
    "Hamburg 2-0 Cologne (Jung 5', Wood 76') Hamburg scored a goal in each half.",
    "WASHINGTON (Reuters) - Short.",  # nothing worth citing would be left
])
def test_prose_openings_are_not_datelines(text: str) -> None:
    assert split_dateline(text) is None


def test_reader_cuts_the_dateline_and_keeps_place_and_wire_as_metadata(tmp_path: Path) -> None:
    path = tmp_path / "wire.jsonl"
    text = "WASHINGTON (Reuters) - The Senate confirmed Betsy DeVos on Tuesday. Pence cast the deciding vote."
    path.write_text(json.dumps({"id": "w1", "title": "DeVos", "text": text}) + "\n", encoding="utf-8")
    (article,) = list(read_path(path))
    assert article.text == "The Senate confirmed Betsy DeVos on Tuesday. Pence cast the deciding vote."
    assert (article.metadata["dateline"], article.metadata["agency"]) == ("WASHINGTON", "Reuters")
    embedder = HashEmbedder(dim=32)
    index = NewsIndex.open(tmp_path / "index", embedder, config=IndexConfig(model=embedder.name, dim=32, max_tokens=40))
    index.add([article], show_progress=False)
    stored = index.store.article("w1")
    assert stored is not None and stored.text == article.text and stored.metadata["dateline"] == "WASHINGTON"
    passages = [index.passage(p.passage_id) for p in index.passages]
    assert passages and all("Reuters" not in p.text and "WASHINGTON" not in p.text for p in passages)


@pytest.mark.parametrize(("text", "byline", "rest"), [
    ("By Phil McNulty Chief football writer at the King Power Stadium Share this with Leicester City wrote another "
     "chapter.", "Phil McNulty Chief football writer at the King Power Stadium", "Leicester City wrote another chapter."),
    ("By Tom Fordyce Chief sports writer at the Aviva Stadium Share this with Media playback is not supported on "
     "this device Ireland wrecked England's Grand Slam dream.", "Tom Fordyce Chief sports writer at the Aviva Stadium",
     "Ireland wrecked England's Grand Slam dream."),
    ("By Robert Faturechi ProPublica, March 17, 2017, 2:13 p.m. Former U.S. Attorney Preet Bharara was removed.",
     "Robert Faturechi ProPublica, March 17, 2017", "Former U.S. Attorney Preet Bharara was removed."),
])
def test_a_byline_glued_to_the_text_is_cut_where_a_widget_or_a_posting_time_ends_it(text: str, byline: str,
                                                                                     rest: str) -> None:
    found = split_byline(text)
    assert found is not None and found[0] == byline and text[found[1]:] == rest


@pytest.mark.parametrize("text", [
    "By Ivan Oransky, New York University and Adam Marcus, Johns Hopkins University Have you heard of the march?",
    "By Monday, all of the 200 residents were safe, officials said. Share this with your neighbours.",
    "By the time police arrived the crowd had gone.",
])
def test_a_byline_without_a_clear_end_or_prose_is_left_alone(text: str) -> None:
    assert split_byline(text) is None


def test_page_widget_words_are_dropped() -> None:
    assert drop_widget_text("Wales lost. Media playback is not supported on this device The coach left.") == (
        "Wales lost. The coach left.")
    assert drop_widget_text("The match ended 0-0.") == "The match ended 0-0."
    shared = ("Talks went on. Send Facebook Twitter Google+ Whatsapp Tumblr linkedin stumble Digg reddit Newsvine "
              "Permalink http://dw.com/p/2WtWT 'Far more than symbolic' Ahead of the vote, Sturgeon spoke.")
    assert drop_widget_text(shared) == "Talks went on.\n\n'Far more than symbolic' Ahead of the vote, Sturgeon spoke."
    assert drop_widget_text(shared.replace(" Send", "\n\nSend").replace("2WtWT ", "2WtWT\n\n")) == (
        "Talks went on.\n\n'Far more than symbolic' Ahead of the vote, Sturgeon spoke.")  # no run of blank lines


@pytest.mark.parametrize(("text", "kept", "author"), [
    ("He left the party. jbh/rt (AFP/Reuters)", "He left the party.", ""),
    ("Brandenburg, he said. ipj/rt-(AFP, dpa, Reuters)", "Brandenburg, he said.", ""),
    ("It ends here. mp (DPA/Reuters) - -", "It ends here.", ""),
    ("It ends here. sri/uhe", "It ends here.", ""),
    ("In Pennsylvania. Author: Rachel Stewart, Mara Bierbach mb/rt (AFP, AP, dpa, Reuters)-", "In Pennsylvania.",
     "Rachel Stewart, Mara Bierbach"),
    ("Growth slowed. - - - - - -", "Growth slowed.", ""),
    ("- -", "", ""),
    ("It ended. Author: Sabine Oelze / db", "It ended.", "Sabine Oelze"),
    ("It ended. Author: Jochen Kürten (eg)", "It ended.", "Jochen Kürten"),
    ("The film opens. Author: Stephen King, Director: Mike Flanagan", "The film opens. Author: Stephen King, Director: "
     "Mike Flanagan", ""),
    ('"These are very significant issues."- -', '"These are very significant issues."', ""),
    # not sign-offs: prose, a range, a compound, a wire named in a sentence
    ("Call 1800-666-111", "Call 1800-666-111", ""),
    ("The vote was 52-48", "The vote was 52-48", ""),
    ("It was a mid-term", "It was a mid-term", ""),
    ("The report came from Reuters (AP)", "The report came from Reuters (AP)", ""),
    ("Choose yes and/or", "Choose yes and/or", ""),
    ("That was what he said (AFP)", "That was what he said (AFP)", ""),
    ("It was legal (in part)", "It was legal (in part)", ""),
    ("It was held in July.- pfd/ftm (SID, dpa)", "It was held in July.", ""),
    ("It was withdrawn in 2012. bb/bea (reuters, afp, greenpeace)", "It was withdrawn in 2012.", ""),
])
def test_an_editors_sign_off_ending_a_story_is_cut(text: str, kept: str, author: str) -> None:
    assert split_sign_off(text) == (kept, author)


@pytest.mark.parametrize(("raw", "repaired"), [
    # the demo corpus's own damage (HuffPost, ABC News, TASS): '"?' for a closing quote and its space, or a dash
    ('black bodies,"?she told HuffPost. "I didn"t know."', 'black bodies," she told HuffPost. "I didn\'t know."'),
    ('There was no such attack "?but RT, Sputnik', "There was no such attack — but RT, Sputnik"),
    ('repeal and replace "Obamacare"?is dead', 'repeal and replace "Obamacare" is dead'),
    ('commercial."?"He clearly sabotaged', 'commercial." "He clearly sabotaged'),
    ("that states\"?rights trump federal power", "that states' rights trump federal power"),  # a plural's apostrophe
    ('Trump"s aides won"t say', "Trump's aides won't say"),
    ('He said "yes"?and the players"?union agreed', 'He said "yes" and the players\' union agreed'),
    # what an intact text says is kept
    ('Did he say "yes"? He did.', 'Did he say "yes"? He did.'),
    ('He asked: "Why?" Nobody knew.', 'He asked: "Why?" Nobody knew.'),
    ('The "Beatles" sold records', 'The "Beatles" sold records'),
    ("No quotes here at all?", "No quotes here at all?"),
])
def test_punctuation_lost_to_a_bad_encoding_is_put_back(raw: str, repaired: str) -> None:
    assert repair_lost_punctuation(raw) == repaired
    assert normalize_text(raw) == repaired
    assert repair_lost_punctuation(repaired) == repaired  # cleaning twice changes nothing


def test_an_embedded_tweets_short_links_are_dropped() -> None:
    raw = ("Tillerson met ExxonMobil:https://t.co/iQmaYHinnl today. #PassTheBill pic.twitter.com/XG6lQIy5a6 "
           "Trump spoke. See https://example.com/t.co/x and https://www.rte.ie/news/ for more.")
    assert normalize_text(raw) == ("Tillerson met ExxonMobil: today. #PassTheBill Trump spoke. "
                                   "See https://example.com/t.co/x and https://www.rte.ie/news/ for more.")


@pytest.mark.parametrize(("text", "kept"), [
    ("The raid was condemned. READ MORE: Fatah and Hamas to form unity government There was no claim.",
     "The raid was condemned.\n\nThere was no claim."),
    ("He left. READ MORE: Syria operations 'will continue until the end', says Erdogan The army went in.",
     "He left.\n\nThe army went in."),
    ("He left. READ MORE: 'Hope is all I have', Syrian journalist says In Astana, talks began.",
     "He left.\n\nIn Astana, talks began."),  # "I" inside the headline's quotes opens nothing
    ("He left. READ MORE: 2016 - The year the world stopped caring about refugees The number rose.",
     "He left.\n\nThe number rose."),  # "- The" goes on the headline
    ("He left. READ MORE: Fatah and Hamas to form unity government\n\nPalestinian officials told The Associated Press.",
     "He left.\n\nPalestinian officials told The Associated Press."),  # a line break ends the headline
    ("He sang. READ MORE: What this picture means to me - Widows celebrating Holi", "He sang."),
    # the next sentence opens with a name: where the headline ends is not known, and nothing is cut
    ("He left. READ MORE: Losing everything in Avdiivka Russia knows this. The rebels stayed.",
     "He left. READ MORE: Losing everything in Avdiivka Russia knows this. The rebels stayed."),
    ("Nothing to read more about here.", "Nothing to read more about here."),
    # where a quotation, a question or a sentence's end may belong to the story, nothing is cut
    ('He left. READ MORE: Who votes for Geert Wilders? "Close the borders," Wilders said.',
     'He left. READ MORE: Who votes for Geert Wilders? "Close the borders," Wilders said.'),
    ("READ MORE: Occupied words Al Jazeera: How did the idea for Ghost Hunting develop? Andoni: It began in jail.",
     "READ MORE: Occupied words Al Jazeera: How did the idea for Ghost Hunting develop? Andoni: It began in jail."),
    ('READ MORE: Living with trauma "I started thinking to myself, what do you want? And suddenly I decided."',
     'READ MORE: Living with trauma "I started thinking to myself, what do you want? And suddenly I decided."'),
    ('He left. READ MORE: Mosul battle Police told the families "go home!"',
     'He left. READ MORE: Mosul battle Police told the families "go home!"'),
    ("He left. READ MORE: Syria talks stall Russian officials met The Associated Press in Geneva.",
     "He left. READ MORE: Syria talks stall Russian officials met The Associated Press in Geneva."),
])
def test_links_to_other_stories_are_cut_where_their_headline_ends(text: str, kept: str) -> None:
    assert drop_read_more(text) == kept
