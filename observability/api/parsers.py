"""The API's JSON parser: every malformed body is a 400, never a server error."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # json.loads on deeply nested arrays or objects
            raise ParseError("JSON parse error - nested too deeply") from None
