"""The health check says when the database does not answer (no database fixture needed)."""

from dashboard import create_app


def test_health_check_reports_an_unreachable_database(tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/missing/dir/q.db"})
    response = app.test_client().get("/health")
    assert response.status_code == 503
    assert response.json["status"] == "error"
    assert "unable to open database file" in response.json["database"]
