"""Organisations, users and API clients (administrators only)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..governance.permissions import require
from ..platform.services import db
from ..records import ApiClient, Organisation, User
from ..usecases import people
from . import schemas as s
from .auth import current_actor, unit

blp = Blueprint(
    "people",
    __name__,
    url_prefix="/api/v1",
    description="Organisations, users and frontline API clients.",
)


@blp.route("/organisations")
class Organisations(MethodView):
    @blp.response(200, s.OrganisationOut(many=True))
    def get(self) -> Any:
        require(current_actor(), "read")
        return db().scalars(select(Organisation).order_by(Organisation.id)).all()

    @blp.arguments(s.OrganisationIn)
    @blp.response(201, s.OrganisationOut)
    def post(self, data: dict[str, Any]) -> Any:
        return people.create_organisation(unit(), data)


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, s.UserOut(many=True))
    def get(self) -> Any:
        require(current_actor(), "administer")
        return db().scalars(select(User).order_by(User.id)).all()

    @blp.arguments(s.UserIn)
    @blp.response(201, s.Created)
    def post(self, data: dict[str, Any]) -> Any:
        user, token = people.create_user(unit(), data)
        return {"id": user.id, "token": token}


@blp.route("/users/<int:user_id>/unlock", methods=["POST"])
@blp.response(200, s.UserOut)
def unlock(user_id: int) -> Any:
    """Lift a lockout after too many wrong passwords (administrators)."""
    u = unit()
    return people.unlock(u, people.find_user(u, user_id))


@blp.route("/me")
class Me(MethodView):
    @blp.response(200, s.UserOut)
    def get(self) -> Any:
        actor = current_actor()
        require(actor, "read")
        return db().get(User, actor.user_id)


@blp.route("/clients")
class Clients(MethodView):
    @blp.response(200, s.ClientOut(many=True))
    def get(self) -> Any:
        require(current_actor(), "administer")
        return db().scalars(select(ApiClient).order_by(ApiClient.id)).all()

    @blp.arguments(s.ClientIn)
    @blp.response(201, s.Created)
    def post(self, data: dict[str, Any]) -> Any:
        client, token = people.create_client(unit(), data)
        return {"id": client.id, "token": token}
