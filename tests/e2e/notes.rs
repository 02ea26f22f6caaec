//! Partner notes: a note on a submitted or linked candidate lands once on its Lever
//! opportunity, as the connection's `perform_as` user.

use serde_json::json;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_partner_note_lands_once_on_the_opportunity_as_the_perform_as_user() {
    let world = World::start().await;
    world.set_perform_as().await;
    let note = json!({ "noteId": "note-1", "text": "Great call; ready for the onsite." });
    let first = world
        .call(
            "POST",
            "/connections/acme/candidates/cand-ada/notes",
            Some(note.clone()),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.text());
    let first = first.json();
    assert_eq!(first["created"], true);
    assert_eq!(first["opportunityId"], ADA);
    let notes = world.sims.lever.notes(ADA);
    assert_eq!(notes.len(), 1);
    assert_eq!(
        notes[0]["fields"][0]["value"],
        "Great call; ready for the onsite."
    );
    assert_eq!(notes[0]["user"], RECRUITER);
    assert_eq!(notes[0]["id"], first["leverNoteId"]);

    // The partner's retry of the same note: answered, not added again.
    let again = world
        .call(
            "POST",
            "/connections/acme/candidates/cand-ada/notes",
            Some(note),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["created"], false);
    assert_eq!(again.json()["leverNoteId"], first["leverNoteId"]);
    assert_eq!(world.sims.lever.notes(ADA).len(), 1);

    // Another note is another note.
    let second = world
        .call(
            "POST",
            "/connections/acme/candidates/cand-ada/notes",
            Some(json!({ "noteId": "note-2", "text": "Offer expected next week." })),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text());
    assert_eq!(world.sims.lever.notes(ADA).len(), 2);

    // The write is in the audit trail, caused by the partner's call.
    let audit = world.ok("GET", "/connections/acme/audit", None).await;
    assert!(audit["data"].as_array().unwrap().iter().any(|e| e["cause"]
        == "partner call: add-candidate-note cand-ada"
        && e["method"] == "POST"));
}

#[tokio::test(flavor = "multi_thread")]
async fn notes_need_a_linked_candidate_a_perform_as_user_and_a_note_id() {
    let world = World::start().await;
    let unlinked = world
        .call(
            "POST",
            "/connections/acme/candidates/nobody/notes",
            Some(json!({ "noteId": "n", "text": "x" })),
        )
        .await;
    assert_eq!(unlinked.status, 404, "{}", unlinked.text());
    // Another connection does not know Acme's candidate.
    world.set_up_globex().await;
    let elsewhere = world
        .call(
            "POST",
            "/connections/globex/candidates/cand-ada/notes",
            Some(json!({ "noteId": "n", "text": "x" })),
        )
        .await;
    assert_eq!(elsewhere.status, 404, "{}", elsewhere.text());
    let no_user = world
        .call(
            "POST",
            "/connections/acme/candidates/cand-ada/notes",
            Some(json!({ "noteId": "n", "text": "x" })),
        )
        .await;
    assert_eq!(
        error_code(&no_user).0,
        "not-configured",
        "{}",
        no_user.text()
    );
    let no_id = world
        .call(
            "POST",
            "/connections/acme/candidates/cand-ada/notes",
            Some(json!({ "text": "x" })),
        )
        .await;
    assert_eq!(no_id.status, 400);
    assert!(error_code(&no_id).1.contains("noteId is required"));
    assert!(world.sims.lever.notes(ADA).is_empty());
}
