"""Organisations, users and API clients (administrators only)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from ..governance import people, sign_in
from ..governance.errors import NotFound
from ..governance.permissions import require
from ..platform.services import db
from ..records import ApiClient, Organisation, User
from . import current_actor
from . import schemas as s
from .governed import now

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
        org = people.create_organisation(db(), current_actor(), data, now())
        db().commit()
        return org


@blp.route("/users")
class Users(MethodView):
    @blp.response(200, s.UserOut(many=True))
    def get(self) -> Any:
        require(current_actor(), "administer")
        return db().scalars(select(User).order_by(User.id)).all()

    @blp.arguments(s.UserIn)
    @blp.response(201, s.Created)
    def post(self, data: dict[str, Any]) -> Any:
        user, token = people.create_user(db(), current_actor(), data, now())
        db().commit()
        return {"id": user.id, "token": token}


@blp.route("/users/<int:user_id>/unlock", methods=["POST"])
@blp.response(200, s.UserOut)
def unlock(user_id: int) -> Any:
    """Lift a lockout after too many wrong passwords (administrators)."""
    actor = current_actor()
    require(actor, "administer")
    user = db().get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}", {"user_id": [str(user_id)]})
    sign_in.unlock(db(), actor, user, now())
    db().commit()
    return user


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
        client, token = people.create_client(db(), current_actor(), data, now())
        db().commit()
        return {"id": client.id, "token": token}
